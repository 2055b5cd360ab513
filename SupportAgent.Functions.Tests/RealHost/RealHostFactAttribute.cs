namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>
/// A test that runs under the real Azure Functions host. Skipped, with one line that says how to turn it on, unless
/// FUNCTIONS_HOST_START names the script that starts the host; .ci/run sets it and fails the run if these were skipped.
/// </summary>
public sealed class RealHostFactAttribute : FactAttribute
{
    public const string SkipReason =
        "Real Functions host tests: set " + FunctionsHostProcess.StartScriptSetting + " to a script that runs the host as 'SCRIPT SCRIPT_ROOT PORT' (README, func start).";

    public RealHostFactAttribute()
    {
        if (FunctionsHostProcess.StartScript is null)
        {
            Skip = SkipReason;
        }
    }
}
