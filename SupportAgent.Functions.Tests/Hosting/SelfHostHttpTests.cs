using System.Net;
using System.Text;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>The self host's HTTP surface: the function's route with host.json's prefix, and CORS for browser frontends.</summary>
public sealed class SelfHostHttpTests
{
    private const string Allowed = "http://localhost:3000";

    private static Task<TestService> StartWithCorsAsync() => TestService.StartAsync(new TestServiceOptions
    {
        Settings = new Dictionary<string, string?> { ["CORS_ALLOWED_ORIGINS"] = Allowed + ",https://support.example.com" },
    });

    [Fact]
    public async Task An_allowed_origin_gets_CORS_headers_on_preflight_and_on_POST()
    {
        await using var app = await StartWithCorsAsync();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/chat");
        preflight.Headers.Add("Origin", Allowed);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using var preflightResponse = await app.Client.SendAsync(preflight);

        Assert.True(preflightResponse.IsSuccessStatusCode, $"preflight: {(int)preflightResponse.StatusCode}");
        Assert.Equal(Allowed, Assert.Single(preflightResponse.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("POST", string.Join(",", preflightResponse.Headers.GetValues("Access-Control-Allow-Methods")));

        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = new StringContent("""{"userId":"u1","messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("Origin", Allowed);
        using var postResponse = await app.Client.SendAsync(post);

        Assert.Equal(HttpStatusCode.OK, postResponse.StatusCode);
        Assert.Equal(Allowed, Assert.Single(postResponse.Headers.GetValues("Access-Control-Allow-Origin")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_browser_may_call_me_chat_with_a_bearer_token_and_with_cookies_only_when_credentials_are_allowed(bool credentials)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["CORS_ALLOWED_ORIGINS"] = Allowed,
                ["CORS_SUPPORT_CREDENTIALS"] = credentials ? "true" : null,
            },
        });

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/me/chat");
        preflight.Headers.Add("Origin", Allowed);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var response = await app.Client.SendAsync(preflight);

        Assert.True(response.IsSuccessStatusCode, $"preflight: {(int)response.StatusCode}");
        Assert.Equal(Allowed, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("authorization", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(credentials, response.Headers.TryGetValues("Access-Control-Allow-Credentials", out var allow) && allow.Single() == "true");
    }

    [Fact]
    public async Task Another_origin_gets_no_CORS_headers()
    {
        await using var app = await StartWithCorsAsync();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/chat");
        preflight.Headers.Add("Origin", "https://evil.example.net");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var preflightResponse = await app.Client.SendAsync(preflight);
        Assert.False(preflightResponse.Headers.Contains("Access-Control-Allow-Origin"));

        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = new StringContent("""{"userId":"u1","messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("Origin", "https://evil.example.net");
        using var postResponse = await app.Client.SendAsync(post);
        Assert.False(postResponse.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Without_an_origin_setting_no_origin_is_allowed()
    {
        await using var app = await TestService.StartAsync();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/chat");
        preflight.Headers.Add("Origin", Allowed);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var response = await app.Client.SendAsync(preflight);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task The_start_banner_names_the_model_and_its_host_the_memory_store_and_the_storage_but_no_key()
    {
        await using var app = await TestService.StartAsync();

        string banner = await Eventually.WaitFor(() => Task.FromResult(app.Logs.Lines.FirstOrDefault(l => l.Contains("SupportAgent on http://127.0.0.1:"))),
            l => l is not null, TimeSpan.FromSeconds(10), "the start banner") ?? "";

        Assert.Contains($"model: gpt-4o-mini at {new Uri(app.Model.OpenAiBaseUrl).Authority}", banner);
        Assert.Contains($"memory: Mem0 Platform at {new Uri(app.Mem0.BaseUrl).Authority}", banner);
        Assert.Contains("storage: local emulator (Azurite)", banner);
        Assert.Contains("POST /api/chat", banner);
        Assert.DoesNotContain(TestService.OpenAiKey, banner);
        Assert.DoesNotContain(TestService.Mem0Key, banner);
        Assert.DoesNotContain("AccountKey", banner);
    }

    [Theory]
    [InlineData("platform")]
    [InlineData("server")]
    [InlineData("builtin")]
    [InlineData("azure")]
    public async Task The_start_up_warm_up_runs_the_chat_path_without_calling_the_model_or_memory(string setup)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Mem0Flavor = setup == "server" ? Mem0Flavor.Server : Mem0Flavor.Platform,
            BuiltInMemory = setup == "builtin",
            AzureModel = setup == "azure",
        });

        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("warm-up did not complete"));
        Assert.Equal(0, app.Model.RequestCount);
        Assert.Empty(app.Mem0.Requests.ToList());
        Assert.Empty(await app.PeekQueuedAsync());
    }

    [Fact]
    public async Task Only_the_function_routes_exist()
    {
        await using var app = await TestService.StartAsync();

        using var response = await app.Client.PostAsync("/chat", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
