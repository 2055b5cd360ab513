using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SupportAgent.Functions.Configuration;

/// <summary>Runs the start-up validation of every options class and returns what is wrong, one line per problem.</summary>
public static class SettingsCheck
{
    public static IReadOnlyList<string> FindProblems(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            return [];
        }
        catch (Exception ex)
        {
            return Flatten(ex).Distinct().ToArray();
        }
    }

    private static IEnumerable<string> Flatten(Exception ex) => ex switch
    {
        OptionsValidationException v => v.Failures,
        AggregateException a => a.InnerExceptions.SelectMany(Flatten),
        // The configuration binder names the setting in its message ("Failed to convert configuration value at 'X'").
        InvalidOperationException when ex.Message.Contains("configuration value", StringComparison.OrdinalIgnoreCase) =>
            [ex.Message + (ex.InnerException is { } inner ? " " + inner.Message : "")],
        _ => throw ex,
    };
}
