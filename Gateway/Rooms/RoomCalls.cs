namespace Chat.Orleans.Gateway.Rooms;

/// <summary>Room calls that are made again until the room answers (joins, posts, catch-ups).</summary>
internal static class RoomCalls
{
    /// <summary>When a bound that starts now ends, on <see cref="Environment.TickCount64"/>.</summary>
    public static long DeadlineAfter(TimeSpan bound) => Environment.TickCount64 + (long)bound.TotalMilliseconds;

    /// <summary>
    /// Makes the call until it answers. A failure without a verdict from the message log (the room's silo
    /// died, or the call timed out) is reported to <paramref name="onRetry"/> and the call made again after
    /// a short pause, until <paramref name="deadline"/>; then, or when the log refused
    /// (<see cref="MessageNotStoredException"/>), the failure is thrown.
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> call, long deadline, Action<Exception> onRetry)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
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
