namespace SupportAgent.Functions.Tests.Infra;

/// <summary>Files of the repository the tests run from (found by walking up to SupportAgent.sln).</summary>
internal static class RepoFiles
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SupportAgent.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"SupportAgent.sln was not found above {AppContext.BaseDirectory}.");
    });

    public static string Root => RootPath.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(PathOf(parts));
}
