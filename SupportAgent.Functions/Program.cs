using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SupportAgent.Functions;
using SupportAgent.Functions.Startup;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using SupportAgent.Functions.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddSupportAgent(builder.Configuration);
builder.Services.AddHostedService(sp => sp.GetRequiredService<StartupWork>());
// The host's request and queue-trigger spans are the parents of the worker's; host.json sets telemetryMode OpenTelemetry.
builder.Services.AddSupportAgentTelemetry(builder.Configuration, otel => otel.UseFunctionsWorkerDefaults());
builder.Build().Run();
