using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>
/// One headless Debian chromium for all browser tests, driven by Playwright. Playwright cannot download browsers here,
/// so it is pointed at the executable scripts/setup.sh installs (or CHROMIUM_PATH).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Known to work headless in containers; no sandbox (root in CI), no GPU, nothing phoning home.</summary>
    private static readonly string[] Flags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-quic", "--disable-sync",
    ];

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            Args = Flags,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
    }

    /// <summary>A fresh browser profile (no localStorage, no cookies): a new visitor; <paramref name="headers"/> go with every request.</summary>
    public async Task<IPage> NewPageAsync(IReadOnlyDictionary<string, string>? headers = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1100, Height = 720 },
            ExtraHTTPHeaders = headers?.ToDictionary(),
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    private static string ChromiumPath()
    {
        string? configured = Environment.GetEnvironmentVariable("CHROMIUM_PATH");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "chromium");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("chromium was not found on the PATH. Run `scripts/setup.sh` (as root it installs Debian's chromium with apt), or set CHROMIUM_PATH.");
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}

/// <summary>
/// The chat page's files served by a plain web server on an origin of its own (another loopback port), its config.js
/// pointing the page at <see cref="ApiBaseUrl"/>: a frontend hosted apart from the function app.
/// </summary>
public sealed class StaticSite : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticSite(WebApplication app, string origin)
    {
        _app = app;
        Origin = origin;
    }

    public string Origin { get; }

    /// <summary>What config.js tells the page (read per request: the API's address is known only once it runs).</summary>
    public string ApiBaseUrl { get; set; } = "";

    public static async Task<StaticSite> StartAsync()
    {
        StaticSite? site = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/config.js", () => Results.Text($"window.SUPPORTAGENT_API = {System.Text.Json.JsonSerializer.Serialize(site!.ApiBaseUrl)};", "text/javascript"));
        var files = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot"));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        await app.StartAsync();
        string origin = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return site = new StaticSite(app, origin);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
