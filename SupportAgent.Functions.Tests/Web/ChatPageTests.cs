using Microsoft.Playwright;
using SupportAgent.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace SupportAgent.Functions.Tests.Web;

/// <summary>
/// The chat page in a real browser (headless Debian chromium through Playwright) against the real service: what a person
/// typing into it sees. Each test has a fresh browser profile.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ChatPageTests(BrowserFixture browser)
{
    private const string Monday = "Hi, my order #1234 hasn't arrived. It's been 10 days";

    private static ILocator Message(IPage page) => page.GetByLabel("Message", new() { Exact = true });

    private static ILocator Send(IPage page) => page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true });

    private static ILocator LastReply(IPage page) => page.Locator("[data-role=assistant]").Last;

    private static async Task SayAsync(IPage page, string text)
    {
        await Message(page).FillAsync(text);
        await Send(page).ClickAsync();
    }

    [Fact]
    public async Task Monday_and_Tuesday_typed_into_the_page_with_a_reload_between_and_Tuesday_knows_the_order()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { RunQueueListener = true });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(app.Client.BaseAddress!.ToString());

        // Monday.
        await page.GetByLabel("User id").FillAsync("user-001");
        await SayAsync(page, Monday);
        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "done");
        await Expect(LastReply(page)).ToHaveAttributeAsync("data-memories-used", "0");
        await app.Mem0.WaitForAddsAsync("user-001", 1, TimeSpan.FromSeconds(30));

        // Tuesday: a new session. The page remembers who the user is, not the conversation.
        await page.ReloadAsync();
        await Expect(page.GetByLabel("User id")).ToHaveValueAsync("user-001");
        await Expect(page.Locator("[data-role]")).ToHaveCountAsync(0);
        await SayAsync(page, "Any updates?");

        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "done");
        await Expect(LastReply(page)).ToContainTextAsync("1234");
        await Expect(LastReply(page)).ToContainTextAsync("Memory used: 1 memory about you");
        var tuesday = app.Model.Requests.ToList()[^1];
        Assert.Equal(["system", "user"], tuesday.Messages.Select(m => m.Role)); // only Tuesday's message was sent
        Assert.True(tuesday.Stream);

        Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "artifacts"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepoPaths.Root, "artifacts", "chat-page.png") });
    }

    [Fact]
    public async Task Over_the_rate_limit_the_page_says_why_and_when_to_send_again()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 10, 0, 10, TimeSpan.Zero));
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?> { [Configuration.SettingNames.UserRequestsPerMinute] = "1" },
            ConfigureServices = services => Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.Replace(
                services, Microsoft.Extensions.DependencyInjection.ServiceDescriptor.Singleton<TimeProvider>(time)),
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(app.Client.BaseAddress!.ToString());
        await page.GetByLabel("User id").FillAsync("page-limit-" + Guid.NewGuid().ToString("N")[..8]);

        await SayAsync(page, "Hi");
        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "done");
        await SayAsync(page, "Hi again");

        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "failed");
        await Expect(page.Locator("#status")).ToContainTextAsync("Please wait 50 seconds before sending another.");
        await Expect(page.Locator("#status")).ToContainTextAsync("You can send again at");
        Assert.Single(app.Model.Requests.ToList());
    }

    [Fact]
    public async Task The_reply_grows_on_the_page_while_the_model_is_still_writing()
    {
        await using var app = await TestService.StartAsync();
        const string reply = "Your order #1234 left our warehouse yesterday and should arrive on Friday.";
        app.Model.Responder = _ => reply;
        app.Model.HoldStreamsAfter(3);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(app.Client.BaseAddress!.ToString());

        await SayAsync(page, "Any updates?");

        // Three words are on the screen and the rest is not written yet.
        await Expect(LastReply(page).Locator(".text")).ToHaveTextAsync("Your order #1234 ");
        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "streaming");
        await Expect(Send(page)).ToBeDisabledAsync();

        app.Model.ReleaseStreams();

        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "done");
        await Expect(LastReply(page).Locator(".text")).ToHaveTextAsync(reply);
        await Expect(Send(page)).ToBeEnabledAsync();
    }

    [Fact]
    public async Task A_page_on_another_origin_can_chat_when_its_origin_is_allowed()
    {
        await using var site = await StaticSite.StartAsync();
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?> { ["CORS_ALLOWED_ORIGINS"] = site.Origin },
        });
        var page = await OpenCrossOriginAsync(site, app);

        await SayAsync(page, "Any updates?");

        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "done");
        await Expect(LastReply(page)).ToContainTextAsync("You said: \"Any updates?\"");
        Assert.Equal(1, app.Model.RequestCount);
    }

    [Fact]
    public async Task A_page_on_another_origin_is_refused_when_its_origin_is_not_allowed()
    {
        await using var site = await StaticSite.StartAsync();
        await using var app = await TestService.StartAsync(); // no CORS_ALLOWED_ORIGINS
        var page = await OpenCrossOriginAsync(site, app);

        await SayAsync(page, "Any updates?");

        await Expect(LastReply(page)).ToHaveAttributeAsync("data-state", "failed");
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("does not allow this page's origin");
        Assert.Equal(0, app.Model.RequestCount); // the browser never sent the chat: its preflight was refused
    }

    /// <summary>The page from <paramref name="site"/>, its config.js pointing at <paramref name="app"/> on another origin.</summary>
    private async Task<IPage> OpenCrossOriginAsync(StaticSite site, TestService app)
    {
        site.ApiBaseUrl = app.Client.BaseAddress!.ToString().TrimEnd('/');
        Assert.NotEqual(site.Origin, site.ApiBaseUrl);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Origin + "/");
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        return page;
    }
}
