using System.Diagnostics;
using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace SupportAgent.Functions.Telemetry;

/// <summary>
/// OpenTelemetry for both hosts: the app's spans and metrics, HttpClient spans (which carry <c>traceparent</c> to Mem0
/// and the model), and the exporters whose settings are present. The host adds its own part through <c>host</c>:
/// the Functions worker <c>UseFunctionsWorkerDefaults()</c>, the self host ASP.NET Core's server spans.
/// </summary>
public static class TelemetryRegistration
{
    public static IServiceCollection AddSupportAgentTelemetry(this IServiceCollection services, IConfiguration configuration,
        Action<OpenTelemetryBuilder>? host = null)
    {
        services.AddOptions<TelemetryOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>());

        // Exporters are chosen now, from the settings as they are at start-up; a bad value is reported by the validator
        // above and simply gets no exporter here, so the report is what the operator sees instead of a crash.
        var options = TelemetryOptions.From(configuration);
        if (options.IsDisabled)
        {
            return services;
        }

        var otel = services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource(SupportAgentTelemetry.Name)
                .AddHttpClientInstrumentation(http =>
                {
                    // A request made outside any span is background polling (the self host's queue listener asks the
                    // queue for messages every few seconds): not worth a trace of its own.
                    http.FilterHttpRequestMessage = _ => Activity.Current?.Parent is not null || Activity.Current?.HasRemoteParent == true;
                    // Mem0 lists and deletes put the user id in the query string: keep the path, never the query.
                    http.EnrichWithHttpRequestMessage = (activity, request) =>
                    {
                        if (request.RequestUri is { Query.Length: > 0 } uri)
                        {
                            activity.SetTag("url.full", uri.GetLeftPart(UriPartial.Path));
                            activity.SetTag("url.query", null);
                        }
                    };
                }))
            .WithMetrics(metrics => metrics
                .AddMeter(SupportAgentTelemetry.Name)
                .AddHttpClientInstrumentation());

        if (options.ExportsToAzureMonitor)
        {
            otel.UseAzureMonitorExporter(azure =>
            {
                azure.ConnectionString = options.ApplicationInsightsConnectionString;
                if (string.IsNullOrWhiteSpace(configuration["OTEL_TRACES_SAMPLER"]))
                {
                    // Every trace, whole: the exporter's default rate limit dropped the app's own spans of a chat while
                    // keeping its HTTP ones, and an operator following one exchange needs all of them.
                    azure.TracesPerSecond = null;
                    azure.SamplingRatio = 1.0F;
                }
                if (options.TryGetEntraIdentity(out string? clientId))
                {
                    // The Application Insights resource accepts only Entra ID tokens (infra: DisableLocalAuth).
                    azure.Credential = ManagedIdentity(clientId);
                }
            });
        }
        if (options.ExportsToOtlp)
        {
            // Reads OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL and _HEADERS itself, for traces, metrics and logs.
            otel.UseOtlpExporter();
        }

        host?.Invoke(otel);
        return services;
    }

    private static TokenCredential ManagedIdentity(string? clientId) =>
        new ManagedIdentityCredential(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId));
}
