namespace SupportAgent.Functions.Tests.Support;

internal static class RepoPaths
{
    /// <summary>The repository root: the folder holding SupportAgent.sln, found from the test assembly upwards.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SupportAgent.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"SupportAgent.sln was not found above {AppContext.BaseDirectory}.");
    }
}
