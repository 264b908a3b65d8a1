namespace Chat.Orleans.Gateway.Rooms;

/// <summary>What room calls that are sent again (joins, posts, catch-ups) have in common.</summary>
internal static class RoomCalls
{
    /// <summary>
    /// The pause before the next try: short, and growing only a little. A dead silo is declared dead
    /// and its rooms placed anew within a few seconds, and a refused call costs little, so a longer
    /// pause would only add to the time members wait.
    /// </summary>
    public static Task PauseBeforeRetry(int attempt) => Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * attempt, 250)));
}
