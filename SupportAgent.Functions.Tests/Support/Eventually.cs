namespace SupportAgent.Functions.Tests.Support;

/// <summary>Waits for a condition with a timeout: the tests' only way to wait for asynchronous work.</summary>
internal static class Eventually
{
    /// <summary>A timeout for work that takes a second on a quiet machine, sized for a busy 2-core one.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    public static async Task<T> WaitFor<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last = await probe();
        while (!done(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:F0} s waiting for {what}; last value: {last}");
            }
            await Task.Delay(50);
            last = await probe();
        }
        return last;
    }

    public static Task WaitFor(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitFor(() => Task.FromResult(condition()), ok => ok, timeout, what);
}
