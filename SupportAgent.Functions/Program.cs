using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Startup;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using SupportAgent.Functions.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<HostLogCorrelation>(); // the app's log lines in the host's output (see the class)
// host.json's log levels govern the host's categories only; the worker applies them to its own, as the self host does.
builder.Logging.AddConfiguration(HostJson.Load(HostJson.DefaultPath, builder.Configuration).Logging);
builder.Services.AddSupportAgent(builder.Configuration);
builder.Services.AddHostedService(sp => sp.GetRequiredService<StartupWork>());
// The host's request and queue-trigger spans are the parents of the worker's; host.json sets telemetryMode OpenTelemetry.
builder.Services.AddSupportAgentTelemetry(builder.Configuration, otel => otel.UseFunctionsWorkerDefaults());
builder.Build().Run();
