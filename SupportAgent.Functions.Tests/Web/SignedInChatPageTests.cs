using Microsoft.Playwright;
using SupportAgent.Fakes;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace SupportAgent.Functions.Tests.Web;

/// <summary>
/// The chat page for a signed-in user (AUTH_MODE=appservice), in a real browser. The browser sends what App Service
/// Authentication / Static Web Apps forward for a signed-in user (X-MS-CLIENT-PRINCIPAL), and /.auth/me answers as the
/// platform's does: the page must find the user's name, chat through /api/me/chat, and list and forget memories.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SignedInChatPageTests(BrowserFixture browser)
{
    private static readonly Guid Tenant = Guid.NewGuid();
    private static readonly Guid Alice = Guid.NewGuid();
    private static readonly string AliceId = SignedInUserId.ForEntra(Tenant, Alice);

    [Fact]
    public async Task A_signed_in_user_chats_as_themselves_sees_what_is_remembered_and_forgets_one_item_then_everything()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { AuthMode = "appservice" });
        app.Mem0.Seed(AliceId, "Prefers e-mail over phone calls");
        app.Mem0.Seed(AliceId, "Lives in Porto");
        app.Mem0.Seed("user-001", "Someone else's order #9999");
        var page = await browser.NewPageAsync(SignIn.EasyAuthEntra(Tenant, Alice, "alice@example.com").Headers);
        await page.RouteAsync("**/.auth/me", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "application/json",
            Body = """[{"user_id":"alice@example.com","provider_name":"aad","user_claims":[{"typ":"name","val":"Alice Example"}]}]""",
        }));

        await page.GotoAsync(app.Client.BaseAddress!.ToString());

        await Expect(page.GetByText("Signed in as Alice Example")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("User id")).ToBeHiddenAsync();
        var remembered = page.GetByRole(AriaRole.Complementary, new() { Name = "What we remember about you" });
        await Expect(remembered.GetByRole(AriaRole.Listitem)).ToHaveCountAsync(2);
        await Expect(remembered).Not.ToContainTextAsync("9999");

        // Forget one item: it goes from the page and from memory.
        await remembered.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Lives in Porto" }).GetByRole(AriaRole.Button, new() { Name = "Forget" }).ClickAsync();
        await Expect(remembered.GetByRole(AriaRole.Listitem)).ToHaveCountAsync(1);
        Assert.Equal(["Prefers e-mail over phone calls"], app.Mem0.MemoriesOf(AliceId).Select(m => m.Text));

        // Chat: as Alice (her memories are searched), streamed, with what memory did shown.
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync("How will you contact me?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        var reply = page.Locator("[data-role=assistant]").Last;
        await Expect(reply).ToHaveAttributeAsync("data-state", "done");
        await Expect(reply).ToContainTextAsync("Prefers e-mail over phone calls");
        await Expect(reply).ToContainTextAsync("Memory used: 1 memory about you");
        Assert.Equal(AliceId, app.Mem0.RequestsFor(Mem0Operation.Search).Last().UserId);
        Assert.True(app.Model.Requests.ToList()[^1].Stream);

        Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "artifacts"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepoPaths.Root, "artifacts", "chat-page-signed-in.png") });

        // Forget everything, after saying yes.
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await remembered.GetByRole(AriaRole.Button, new() { Name = "Forget everything" }).ClickAsync();
        await Expect(remembered.GetByText("Nothing yet.")).ToBeVisibleAsync();
        await Eventually.WaitFor(() => !app.Mem0.MemoriesOf(AliceId).Any(), TimeSpan.FromSeconds(30), "Alice's memories to be gone");
        Assert.Single(app.Mem0.MemoriesOf("user-001")); // nobody else's
    }

    [Fact]
    public async Task Without_a_sign_in_the_page_offers_the_user_id_field_and_the_platforms_sign_in_link()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { AuthMode = "appservice" });
        var page = await browser.NewPageAsync();
        await page.RouteAsync("**/.auth/me", route => route.FulfillAsync(new RouteFulfillOptions { ContentType = "application/json", Body = "[]" }));

        await page.GotoAsync(app.Client.BaseAddress!.ToString());

        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        await Expect(page.GetByLabel("User id")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Complementary)).ToBeHiddenAsync();
    }
}
