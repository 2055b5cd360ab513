using System.Globalization;

namespace SupportAgent.Benchmark;

/// <summary>
/// CPU time per process (/proc/&lt;pid&gt;/stat utime+stime) and for the whole machine (/proc/stat), so a figure can be
/// put down to who used the 2 cores during a load: the self host, the fakes, Azurite, the load driver, or other work.
/// </summary>
internal sealed class CpuUsage(IReadOnlyDictionary<string, int> processes)
{
    // USER_HZ: Linux reports both files in clock ticks of 1/100 s on every architecture .NET runs on.
    private const double TicksPerSecond = 100;

    public sealed record Snapshot(Dictionary<string, long> ProcessTicks, long MachineBusyTicks, long MachineTotalTicks);

    public Snapshot Take()
    {
        var ticks = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, pid) in processes)
        {
            ticks[name] = ProcessTicks(pid);
        }
        var (busy, total) = MachineTicks();
        return new Snapshot(ticks, busy, total);
    }

    /// <summary>Adds cpu&lt;Name&gt;S (seconds of CPU between the snapshots), machine busy %, and others' CPU seconds.</summary>
    public static void AddTo(Metrics m, Snapshot before, Snapshot after)
    {
        double ours = 0;
        foreach (var (name, t) in after.ProcessTicks)
        {
            double s = (t - before.ProcessTicks.GetValueOrDefault(name)) / TicksPerSecond;
            m["cpu" + name + "S"] = s;
            ours += s;
        }
        double busy = (after.MachineBusyTicks - before.MachineBusyTicks) / TicksPerSecond;
        double total = (after.MachineTotalTicks - before.MachineTotalTicks) / TicksPerSecond;
        m["cpuMachineBusyPct"] = total > 0 ? 100 * busy / total : double.NaN;
        m["cpuOthersS"] = Math.Max(0, busy - ours);
    }

    private static long ProcessTicks(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which may hold spaces) start after the last ')': state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }

    private static (long Busy, long Total) MachineTicks()
    {
        try
        {
            var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            long idle = cpu[3] + (cpu.Length > 4 ? cpu[4] : 0); // idle + iowait
            long total = cpu.Take(Math.Min(cpu.Length, 8)).Sum(); // user..steal; guest time is already inside user
            return (total - idle, total);
        }
        catch (Exception ex) when (ex is IOException or FormatException or InvalidOperationException)
        {
            return (0, 0);
        }
    }
}
