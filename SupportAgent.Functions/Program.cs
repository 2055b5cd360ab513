using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SupportAgent.Functions;
using SupportAgent.Functions.Startup;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddSupportAgent(builder.Configuration);
builder.Services.AddHostedService(sp => sp.GetRequiredService<StartupWork>());
builder.Build().Run();
