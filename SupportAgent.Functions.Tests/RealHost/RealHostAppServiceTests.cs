using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>A real host of its own with AUTH_MODE=appservice (the setting is read once, at start-up).</summary>
public sealed class AppServiceHostFixture : RealHostFixture
{
    protected override string AuthMode => "appservice";
}

/// <summary>
/// AUTH_MODE=appservice through the host's request pipeline: the principal header a client (here, standing in for Easy
/// Auth or Static Web Apps) sends reaches the app, and this host sets none of its own. On Azure the platform in front
/// strips client-sent copies and sets its own (docs/auth.md); the host here leaves the header as it came.
/// </summary>
[Collection(RealHostCollection.Name)]
public sealed class RealHostAppServiceTests(AppServiceHostFixture host) : IClassFixture<AppServiceHostFixture>
{
    [RealHostFact]
    public async Task The_principal_header_passes_the_host_to_the_app_and_without_it_the_app_refuses()
    {
        var signIn = SignIn.EasyAuthEntra(Guid.NewGuid(), Guid.NewGuid());

        using (var signedOut = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Post, "api/me/chat", key: null,
                   JsonContent.Create(new { messages = new[] { new { role = "user", content = "Hi" } } }))))
        {
            await RealHostRoutesTests.AssertAppProblemAsync(signedOut, HttpStatusCode.Unauthorized);
            Assert.Equal("Sign-in required.", (await signedOut.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }

        var chat = FunctionsHostProcess.Request(HttpMethod.Post, "api/me/chat", key: null,
            JsonContent.Create(new { messages = new[] { new { role = "user", content = "My order #1234 has not arrived" } } }));
        signIn.Apply(chat);
        using (var answered = await host.Client.SendAsync(chat))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        var memories = await Eventually.WaitFor(async () =>
        {
            var list = FunctionsHostProcess.Request(HttpMethod.Get, "api/me/memories", key: null);
            signIn.Apply(list);
            using var response = await host.Client.SendAsync(list);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memories").GetArrayLength();
        }, n => n == 1, TimeSpan.FromSeconds(60), "the signed-in user's memory");
        Assert.Equal(1, memories);
    }
}
