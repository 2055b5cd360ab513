using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using SupportAgent.Functions.Startup;

namespace SupportAgent.SelfHost;

/// <summary>
/// Kestrel, but it listens only once the chat path is warmed up (<see cref="StartupWork.WarmUpAsync"/>) and one request
/// has gone through the app's own pipeline in process (routing, CORS, the problem writer): the first real request does
/// not wait while that code is loaded and compiled.
/// </summary>
internal sealed class WarmingServer(IServer kestrel, IServiceProvider services, string path) : IServer
{
    public IFeatureCollection Features => kestrel.Features;

    public async Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
    {
        await services.GetRequiredService<StartupWork>().WarmUpAsync(); // resolved late: building the app creates the server

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Method = HttpMethods.Get, // answered 405 (problem+json) by routing: nothing is called, nothing is logged
            Scheme = "http",
            Protocol = "HTTP/1.1",
            Path = path,
            Headers = new HeaderDictionary { ["Host"] = "localhost", ["Origin"] = "http://localhost" },
        });
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        var context = application.CreateContext(features);
        Exception? error = null;
        try
        {
            await application.ProcessRequestAsync(context);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error = ex; // only the first request's speed is at stake
        }
        application.DisposeContext(context, error);

        await kestrel.StartAsync(application, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => kestrel.StopAsync(cancellationToken);

    public void Dispose() => kestrel.Dispose();

    /// <summary>Wraps the registered server (Kestrel) in this one.</summary>
    public static void Register(IServiceCollection services, string path)
    {
        var kestrel = services.LastOrDefault(d => d.ServiceType == typeof(IServer) && d.ImplementationType is not null);
        if (kestrel is null)
        {
            return;
        }
        services.Remove(kestrel);
        services.AddSingleton<IServer>(sp => new WarmingServer(
            (IServer)ActivatorUtilities.CreateInstance(sp, kestrel.ImplementationType!), sp, path));
    }
}
