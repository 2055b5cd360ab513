using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Metrics;
using SupportAgent.Fakes;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Limits;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Limits;

/// <summary>
/// Per-user limits through the self host and a real Azurite: the request rate (USER_REQUESTS_PER_MINUTE) and the daily
/// token quota (USER_TOKENS_PER_DAY), shared by instances, fail-open storage, forget me. Time is fake, set well inside a
/// minute, so a burst cannot straddle a window boundary however slow the machine is.
/// </summary>
public sealed class UserLimitTests
{
    // A new user per test: the counters table is shared by every test on the Azurite.
    private readonly string _user = "limits-" + Guid.NewGuid().ToString("N")[..12];

    private static readonly DateTimeOffset TenPast = new(2026, 12, 3, 10, 0, 10, TimeSpan.Zero);

    private static Task<TestService> StartAsync(FakeTimeProvider time, int perMinute, long tokensPerDay = 0, string? storage = null, bool captureTelemetry = false)
    {
        var settings = new Dictionary<string, string?>
        {
            [SettingNames.UserRequestsPerMinute] = perMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SettingNames.UserTokensPerDay] = tokensPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (storage is not null)
        {
            settings[SettingNames.Storage] = storage;
        }
        return TestService.StartAsync(new TestServiceOptions
        {
            Settings = settings,
            StorageReachableAtStart = storage is null,
            CaptureTelemetry = captureTelemetry,
            ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)),
        });
    }

    private static async Task<HttpResponseMessage[]> BurstAsync(TestService app, string user, int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => app.PostChatAsync(user, ("user", $"Message {i} about order #1234"))));

    private static async Task<JsonElement> AssertRefusedAsync(HttpResponseMessage response, string reason, int retryAfterSeconds)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(retryAfterSeconds), response.Headers.RetryAfter?.Delta);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        Assert.Equal(retryAfterSeconds, problem.GetProperty("retryAfterSeconds").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    [Fact]
    public async Task A_burst_over_the_rate_gets_exactly_the_limit_answered_and_the_rest_429_reaching_nothing()
    {
        var time = new FakeTimeProvider(TenPast);
        await using var app = await StartAsync(time, perMinute: 5, captureTelemetry: true);

        var responses = await BurstAsync(app, _user, 12);

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        string? detail = null;
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            detail = (await AssertRefusedAsync(refused, LimitReasons.Rate, 50)).GetProperty("detail").GetString(); // 10:00:10 → 10:01:00
        }
        Assert.Equal("You have sent 5 messages in this minute, the most allowed. Please wait 50 seconds before sending another.", detail);
        // Refused requests reached neither the model nor memory nor the queue.
        Assert.Equal(5, app.Model.Requests.Count);
        Assert.Equal(5, app.Mem0.RequestsFor(Mem0Operation.Search).Count(r => r.UserId == _user));
        Assert.Equal(5, (await app.PeekQueuedAsync()).Count);
        // Counted by reason.
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var refusedCount = app.Telemetry.Metrics.ToList().Where(m => m.Name == "supportagent.limits.refused")
            .SelectMany(m => m.MetricPoints).Select(p => p.GetSumLong()).DefaultIfEmpty(0).Max();
        Assert.Equal(7, refusedCount);

        // Another user chats on.
        using var other = await app.PostChatAsync(_user + "-other", ("user", "Hello"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        // The next minute admits again.
        time.Advance(TimeSpan.FromSeconds(50));
        using var later = await app.PostChatAsync(_user, ("user", "Hello again"));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task Two_instances_on_one_Azurite_share_the_limit()
    {
        var time = new FakeTimeProvider(TenPast);
        await using var first = await StartAsync(time, perMinute: 6);
        await using var second = await StartAsync(time, perMinute: 6);

        var both = await Task.WhenAll(BurstAsync(first, _user, 10), BurstAsync(second, _user, 10));

        var all = both.SelectMany(r => r).ToArray();
        Assert.Equal(6, all.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(14, all.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.Equal(6, first.Model.Requests.Count + second.Model.Requests.Count);
        Assert.Equal(6, (await first.PeekQueuedAsync()).Count + (await second.PeekQueuedAsync()).Count);
    }

    [Fact]
    public async Task The_daily_quota_refuses_after_the_reported_usage_passes_it_and_admits_on_the_next_UTC_day()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 23, 50, 0, TimeSpan.Zero));
        await using var app = await StartAsync(time, perMinute: 0, tokensPerDay: 40);

        // The fake model reports usage from the prompt's length; the system prompt alone is past 40 tokens.
        using var first = await app.PostChatAsync(_user, ("user", "Hi"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var usage = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        Assert.True(usage.GetProperty("inputTokens").GetInt64() + usage.GetProperty("outputTokens").GetInt64() > 40);

        using var refused = await app.PostChatAsync(_user, ("user", "And again"));
        await AssertRefusedAsync(refused, LimitReasons.Quota, 600); // until midnight UTC
        Assert.Single(app.Model.Requests.ToList());

        using var other = await app.PostChatAsync(_user + "-other", ("user", "Hello"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        time.Advance(TimeSpan.FromMinutes(10));
        using var nextDay = await app.PostChatAsync(_user, ("user", "A new day"));
        Assert.Equal(HttpStatusCode.OK, nextDay.StatusCode);
    }

    [Fact]
    public async Task A_streamed_request_over_the_limit_gets_a_plain_429()
    {
        var time = new FakeTimeProvider(TenPast);
        await using var app = await StartAsync(time, perMinute: 1);
        using var admitted = await app.PostChatAsync(_user, ("user", "Hi"));
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);

        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = JsonContent.Create(new { userId = _user, messages = new[] { new { role = "user", content = "Stream this" } } }),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var streamed = await app.Client.SendAsync(request);

        await AssertRefusedAsync(streamed, LimitReasons.Rate, 50);
        Assert.Null(streamed.Headers.Contains("x-vercel-ai-ui-message-stream") ? "stream header" : null);
        Assert.Single(app.Model.Requests.ToList());
    }

    [Fact]
    public async Task Storage_down_admits_every_request_and_warns_once()
    {
        var time = new FakeTimeProvider(TenPast);
        string unreachable = Loopback.AzuriteConnectionString(Loopback.FreePort(), Loopback.FreePort(), Loopback.FreePort());
        await using var app = await StartAsync(time, perMinute: 1, storage: unreachable);

        for (int i = 0; i < 3; i++)
        {
            using var response = await app.PostChatAsync(_user, ("user", $"Message {i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            time.Advance(UserLimiter.StoragePause); // each request tries storage again
        }

        Assert.Equal(3, app.Model.Requests.Count);
        Assert.Single(app.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Per-user limits are not enforced"));
    }

    [Fact]
    public async Task Forget_me_removes_the_users_counters()
    {
        var time = new FakeTimeProvider(TenPast);
        await using var app = await StartAsync(time, perMinute: 2);
        foreach (var expected in new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests })
        {
            using var response = await app.PostChatAsync(_user, ("user", "Hi"));
            Assert.Equal(expected, response.StatusCode);
        }
        var table = new TableClient(Azurite.Instance.ConnectionString, LimitCounters.TableName);
        Assert.True((await table.GetEntityIfExistsAsync<TableEntity>(UserRef.Key(_user), "counts")).HasValue);

        using (var forget = await app.Client.DeleteAsync($"/api/users/{_user}/memories"))
        {
            Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
        }

        Assert.False((await table.GetEntityIfExistsAsync<TableEntity>(UserRef.Key(_user), "counts")).HasValue);
        using var afterForget = await app.PostChatAsync(_user, ("user", "Hi"));
        Assert.Equal(HttpStatusCode.OK, afterForget.StatusCode);
    }
}
