using System.Globalization;

namespace SupportAgent.Benchmark;

/// <summary>
/// The self host's resident memory from /proc/&lt;pid&gt;/status: VmHWM (the kernel's peak), reset per scenario through
/// /proc/&lt;pid&gt;/clear_refs where allowed, and VmRSS sampled every 100 ms as a cross-check and fallback.
/// </summary>
internal sealed class ProcessMemory(int pid)
{
    private long _sampledPeakKb;
    private bool _hwmResetWorks = true;

    /// <summary>Starts a new peak: the kernel's (clear_refs 5) and the sampled one.</summary>
    public void ResetPeak()
    {
        Interlocked.Exchange(ref _sampledPeakKb, 0);
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _hwmResetWorks = false; // then VmHWM is the peak since start, and the sampled peak is the per-scenario figure
        }
    }

    public bool HwmIsPerScenario => _hwmResetWorks;

    public long SampledPeakKb => Interlocked.Read(ref _sampledPeakKb);

    public long? HwmKb => Read("VmHWM:");

    public long? RssKb => Read("VmRSS:");

    /// <summary>What the resident set is made of: anonymous (GC heaps, native), file-backed (mapped assemblies, largely
    /// shared with other .NET processes), shared memory (the JIT's code, mapped twice under W^X).</summary>
    public (long Anon, long File, long Shmem) RssParts => (Read("RssAnon:") ?? 0, Read("RssFile:") ?? 0, Read("RssShmem:") ?? 0);

    /// <summary>Samples VmRSS until cancelled.</summary>
    public async Task SampleAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                if (RssKb is { } rss)
                {
                    long seen;
                    do
                    {
                        seen = Interlocked.Read(ref _sampledPeakKb);
                    }
                    while (rss > seen && Interlocked.CompareExchange(ref _sampledPeakKb, rss, seen) != seen);
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException)
        {
            // sampling ends with the scenario
        }
    }

    private long? Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var digits = line[field.Length..].Trim().Split(' ')[0];
                    return long.Parse(digits, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // the process is gone
        }
        return null;
    }
}
