namespace Chat.Orleans.Tests.Infrastructure;

public static class Poll
{
    /// <summary>
    /// Waits for a condition over state that background loops (chatters) update and that no single
    /// event announces; each check is cheap, and the wait is bounded by the timeout.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!condition())
        {
            try
            {
                await tick.WaitForNextTickAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("Condition not met within " + timeout);
            }
        }
    }

    /// <summary>As above, for a condition that needs a round trip to check (the server frees a place after the close).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? period = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        using var tick = new PeriodicTimer(period ?? TimeSpan.FromMilliseconds(50));
        while (!await condition())
        {
            try
            {
                await tick.WaitForNextTickAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("Condition not met within " + timeout);
            }
        }
    }
}
