using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SupportAgent.Fakes;

/// <summary>
/// A minimal Kestrel server on 127.0.0.1 that a fake builds its routes on. Port 0 picks a free port; after the first
/// start the server keeps that port, so a test can stop it ("Mem0 is down") and start it again at the same URL.
/// State lives on the fake object, not in the host, so it survives a restart.
/// </summary>
public abstract class FakeHttpServer : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private WebApplication? _app;
    private CancellationTokenSource _stopping = new();
    private int _port;

    protected FakeHttpServer(int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        _port = port;
    }

    /// <summary>The actual base URL without a trailing slash, e.g. <c>http://127.0.0.1:41234</c>. Valid after the first start.</summary>
    public string BaseUrl => _port == 0
        ? throw new InvalidOperationException("The fake server has not been started yet.")
        : $"http://127.0.0.1:{_port}";

    /// <summary><see cref="BaseUrl"/> as a Uri with a trailing slash, ready for <c>HttpClient.BaseAddress</c>.</summary>
    public Uri BaseAddress => new(BaseUrl + "/");

    public int Port => _port;

    public bool IsRunning => Volatile.Read(ref _app) is not null;

    /// <summary>Cancelled when the server stops: delays and hangs end with it so shutdown never waits on them.</summary>
    protected CancellationToken Stopping => _stopping.Token;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_app is not null)
            {
                return;
            }
            if (_stopping.IsCancellationRequested)
            {
                _stopping.Dispose();
                _stopping = new CancellationTokenSource();
            }

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
            {
                Args = [],
                ApplicationName = GetType().Assembly.GetName().Name,
                ContentRootPath = AppContext.BaseDirectory,
            });
            builder.Logging.ClearProviders(); // no per-request logging: the benchmark drives these at hundreds of requests/s
            builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>(); // Ctrl-C belongs to whoever hosts the fake
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.WebHost.UseKestrel(o =>
            {
                o.AddServerHeader = false;
                o.Limits.MaxRequestBodySize = 32 * 1024 * 1024;
                o.Listen(IPAddress.Loopback, _port);
            });

            var app = builder.Build();
            MapRoutes(app);
            await app.StartAsync(cancellationToken);

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            _port = new Uri(address).Port;
            Volatile.Write(ref _app, app);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops listening. Requests in flight (including injected hangs) are cut short.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var app = _app;
            if (app is null)
            {
                return;
            }
            Volatile.Write(ref _app, null);
            await _stopping.CancelAsync();
            await app.StopAsync(cancellationToken);
            await app.DisposeAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
        _gate.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Registers the fake's routes (including its <c>/_fake/*</c> control surface).</summary>
    protected abstract void MapRoutes(WebApplication app);

    /// <summary>Waits for the injected latency; ends early (without throwing) only if the request or the server goes away.</summary>
    protected async Task<bool> DelayAsync(TimeSpan latency, HttpContext context)
    {
        if (latency <= TimeSpan.Zero)
        {
            return true;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, Stopping);
        try
        {
            await Task.Delay(latency, linked.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Applies a fault that is not an HTTP answer (hang, disconnect). Returns true when the request is finished.</summary>
    protected async Task<bool> ApplyConnectionFaultAsync(FakeFault fault, HttpContext context)
    {
        switch (fault.Kind)
        {
            case FakeFaultKind.Hang:
                // Longer than any client timeout; the client giving up or the server stopping ends it.
                await DelayAsync(fault.HangFor ?? TimeSpan.FromMinutes(10), context);
                context.Abort();
                return true;
            case FakeFaultKind.Disconnect:
                context.Abort();
                return true;
            default:
                return false;
        }
    }

    private sealed class NoSignalLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
