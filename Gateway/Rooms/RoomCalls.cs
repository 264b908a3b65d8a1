namespace Chat.Orleans.Gateway.Rooms;

/// <summary>Room calls that are made again until the room answers (joins, posts, catch-ups).</summary>
internal static class RoomCalls
{
    /// <summary>When a bound that starts now ends, on <see cref="Environment.TickCount64"/>.</summary>
    public static long DeadlineAfter(TimeSpan bound) => Environment.TickCount64 + (long)bound.TotalMilliseconds;

    /// <summary>
    /// How long one try of a call that is safe to send twice may take within <paramref name="bound"/>: a
    /// third of it. Right after a silo is killed, a call sent through a surviving silo can hang for the
    /// whole call timeout (the survivor still asks the dead silo's part of the grain directory until the
    /// death is declared, a few seconds later), while the same call sent again a little later answers at
    /// once. With a bound equal to the call timeout, one such try used it all up: the catch-up gave up and
    /// closed its room's sockets (seen in the SIGKILL continuity test).
    /// </summary>
    public static TimeSpan AttemptBound(TimeSpan bound) => bound / 3;

    /// <summary>
    /// Makes the call until it answers. A failure without a verdict from the message log (the room's silo
    /// died, the call timed out, or a try took longer than <paramref name="attemptBound"/>) is reported to
    /// <paramref name="onRetry"/> and the call made again after a short pause, until
    /// <paramref name="deadline"/>; then, or when the log refused (<see cref="MessageNotStoredException"/>),
    /// the failure is thrown. Only calls that are safe to send while an earlier try may still arrive get an
    /// <paramref name="attemptBound"/> (posts carry their key, a catch-up only lists members again).
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call, long deadline, Action<Exception> onRetry, TimeSpan? attemptBound = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var answer = call();
                return await (attemptBound is { } bound ? answer.WaitAsync(bound) : answer);
            }
            catch (Exception exception) when (exception is not MessageNotStoredException && Environment.TickCount64 < deadline)
            {
                onRetry(exception);
                await PauseBeforeRetry(attempt);
            }
        }
    }

    /// <summary>
    /// The pause before the next try: short, and growing only a little. A dead silo is declared dead
    /// and its rooms placed anew within a few seconds, and a refused call costs little, so a longer
    /// pause would only add to the time members wait.
    /// </summary>
    public static Task PauseBeforeRetry(int attempt) => Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * attempt, 250)));
}
