using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Identity;

/// <summary>
/// AUTH_MODE=jwt through the self host, against a local OpenID Connect issuer (discovery + JWKS over loopback http):
/// only a token of that issuer, for this API, unexpired and signed with a published RS256 key, signs a user in.
/// </summary>
public sealed class BearerTokenSignInTests
{
    private static readonly Guid Tenant = Guid.Parse("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    private static readonly Guid Oid = Guid.Parse("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");

    private static Task<TestService> StartAsync(string? issuer = null) =>
        TestService.StartAsync(new TestServiceOptions { AuthMode = "jwt", JwtIssuer = issuer });

    private static async Task<HttpResponseMessage> ChatAsync(TestService app, string? token, string text = "hi") =>
        await app.PostMeChatAsync(token is null ? null : SignIn.Bearer(token), text);

    [Fact]
    public async Task A_valid_token_signs_the_user_in_as_issuer_plus_subject()
    {
        await using var app = await StartAsync();
        var issuer = app.Issuer!;

        using var response = await ChatAsync(app, issuer.CreateToken(new TokenSpec { Subject = "user-1" }), "My order #77 is late");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var queued = TestService.ParseQueued(Assert.Single(await app.PeekQueuedAsync()));
        Assert.Equal(SignedInUserId.ForIssuer(issuer.Issuer, "user-1"), queued.UserId);
        Assert.StartsWith("idp:oidc:", queued.UserId);
        Assert.Equal(1, issuer.DiscoveryRequests);
    }

    public static TheoryData<string> RefusedTokens() =>
    [
        "expired", "not yet valid", "no expiry", "wrong audience", "wrong issuer", "signed with another key under the issuer's kid",
        "signed with another key under an unknown kid", "alg none", "garbage", "header and payload only", "HS256 with the public key",
    ];

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task Tokens_that_are_not_valid_for_this_API_get_401_with_a_bearer_challenge(string kind)
    {
        await using var app = await StartAsync();
        var issuer = app.Issuer!;
        string valid = issuer.CreateToken();
        string token = kind switch
        {
            "expired" => issuer.CreateToken(new TokenSpec { ExpiresIn = TimeSpan.FromMinutes(-10), NotBeforeIn = TimeSpan.FromMinutes(-30) }),
            "not yet valid" => issuer.CreateToken(new TokenSpec { NotBeforeIn = TimeSpan.FromMinutes(10), ExpiresIn = TimeSpan.FromMinutes(40) }),
            "no expiry" => issuer.CreateToken(new TokenSpec { WithoutExpiry = true }),
            "wrong audience" => issuer.CreateToken(new TokenSpec { Audience = "api://someone-else" }),
            "wrong issuer" => issuer.CreateToken(new TokenSpec { Issuer = "https://evil.example.com/" }),
            "signed with another key under the issuer's kid" => issuer.CreateToken(new TokenSpec { SigningKey = RSA.Create(2048), KeyId = KidOf(valid) }),
            "signed with another key under an unknown kid" => issuer.CreateToken(new TokenSpec { SigningKey = RSA.Create(2048) }),
            "alg none" => issuer.CreateToken(new TokenSpec { Algorithm = "none" }),
            "garbage" => "this-is-not-a-jwt",
            "header and payload only" => string.Join('.', valid.Split('.')[..2]),
            "HS256 with the public key" => Hs256WithPublicKey(valid),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        using var response = await ChatAsync(app, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(token, await response.Content.ReadAsStringAsync());
        Assert.Empty(app.Model.Requests.ToList());
        Assert.Empty(await app.PeekQueuedAsync());
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_token_or_another_scheme_gets_401_with_a_bare_bearer_challenge_and_easy_auth_headers_count_for_nothing()
    {
        await using var app = await StartAsync();
        var principal = SignIn.EasyAuthEntra(Tenant, Oid);

        foreach (var signIn in new SignIn?[] { null, principal, new(new Dictionary<string, string> { ["Authorization"] = "Basic dXNlcjpwYXNz" }) })
        {
            using var response = await app.PostMeChatAsync(signIn, "hi");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
        Assert.Empty(app.Model.Requests.ToList());
    }

    [Fact]
    public async Task A_key_rotated_in_at_the_issuer_is_fetched_on_first_sight_of_its_kid()
    {
        await using var app = await StartAsync();
        var issuer = app.Issuer!;
        using (var before = await ChatAsync(app, issuer.CreateToken()))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        int keyFetches = issuer.KeyRequests;

        issuer.RotateKey();
        using var after = await ChatAsync(app, issuer.CreateToken());

        Assert.True(after.StatusCode == HttpStatusCode.OK, $"{(int)after.StatusCode} {after.Headers.WwwAuthenticate}");
        Assert.True(issuer.KeyRequests > keyFetches, "the new kid made the app fetch the issuer's keys again");
    }

    [Fact]
    public async Task Made_up_kids_do_not_make_the_app_hammer_the_issuer()
    {
        await using var app = await StartAsync();
        var issuer = app.Issuer!;
        using (var first = await ChatAsync(app, issuer.CreateToken()))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        for (int i = 0; i < 10; i++)
        {
            using var response = await ChatAsync(app, issuer.CreateToken(new TokenSpec { SigningKey = RSA.Create(2048) }));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.True(issuer.KeyRequests <= 2, $"10 unknown kids caused {issuer.KeyRequests} key fetches; refreshes are limited to one a minute");
    }

    [Fact]
    public async Task An_unreachable_issuer_is_a_503_not_a_401_or_a_500()
    {
        await using var app = await StartAsync();
        string token = app.Issuer!.CreateToken();
        await app.Issuer.StopAsync();

        using var response = await ChatAsync(app, token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(app.Model.Requests.ToList());
    }

    [Fact]
    public async Task Entra_tokens_give_the_same_user_as_easy_auth_and_tid_oid_from_another_issuer_do_not()
    {
        // A stand-in for Entra ID: its discovery document and tokens name Entra's issuer for the tenant.
        await using var app = await StartAsync($"https://login.microsoftonline.com/{Tenant}/v2.0");
        var entra = app.Issuer!;
        var claims = new Dictionary<string, string> { ["tid"] = Tenant.ToString(), ["oid"] = Oid.ToString() };

        using (var response = await ChatAsync(app, entra.CreateToken(new TokenSpec { Subject = "pairwise-sub", Claims = claims }), "entra user"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var queued = TestService.ParseQueued(Assert.Single(await app.PeekQueuedAsync()));
        Assert.Equal(SignedInUserId.ForEntra(Tenant, Oid), queued.UserId);
        Assert.Equal($"idp:entra:{Tenant}:{Oid}", queued.UserId);

        // Long claim-URI forms work as well.
        var longForms = new Dictionary<string, string>
        {
            ["http://schemas.microsoft.com/identity/claims/tenantid"] = Tenant.ToString(),
            ["http://schemas.microsoft.com/identity/claims/objectidentifier"] = Oid.ToString(),
        };
        using (var response = await ChatAsync(app, entra.CreateToken(new TokenSpec { Subject = "pairwise-sub", Claims = longForms }), "long forms"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.All((await app.PeekQueuedAsync()).Select(TestService.ParseQueued), m => Assert.Equal(queued.UserId, m.UserId));
    }

    [Fact]
    public async Task Tid_and_oid_claims_from_a_non_entra_issuer_never_map_onto_an_entra_user()
    {
        await using var app = await StartAsync(); // issuer: http://127.0.0.1:<port>
        var claims = new Dictionary<string, string> { ["tid"] = Tenant.ToString(), ["oid"] = Oid.ToString() };

        using var response = await ChatAsync(app, app.Issuer!.CreateToken(new TokenSpec { Subject = "someone", Claims = claims }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var queued = TestService.ParseQueued(Assert.Single(await app.PeekQueuedAsync()));
        Assert.NotEqual(SignedInUserId.ForEntra(Tenant, Oid), queued.UserId);
        Assert.Equal(SignedInUserId.ForIssuer(app.Issuer.Issuer, "someone"), queued.UserId);
    }

    private static string KidOf(string token)
    {
        string header = token.Split('.')[0].Replace('-', '+').Replace('_', '/');
        header = header.PadRight(header.Length + (4 - header.Length % 4) % 4, '=');
        return JsonDocument.Parse(Convert.FromBase64String(header)).RootElement.GetProperty("kid").GetString()!;
    }

    /// <summary>The classic key-confusion attack: HS256 keyed with the issuer's public key material.</summary>
    private static string Hs256WithPublicKey(string valid)
    {
        string[] parts = valid.Split('.');
        string header = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($$"""{"alg":"HS256","typ":"JWT","kid":"{{KidOf(valid)}}"}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string input = header + "." + parts[1];
        byte[] mac = HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes("public-key-bytes"), System.Text.Encoding.ASCII.GetBytes(input));
        return input + "." + Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
