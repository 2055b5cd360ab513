using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>GET/DELETE /api/users/{userId}/memories: an operator's backend answering access and erasure requests.</summary>
public sealed class UserMemoriesRouteTests
{
    [Fact]
    public async Task An_operator_lists_and_erases_a_backend_user_and_a_signed_in_user_by_id()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { Mem0Flavor = Mem0Flavor.Server });
        string signedIn = SignedInUserId.ForEntra(Guid.NewGuid(), Guid.NewGuid());
        // A user of this test alone: erasure records live in the storage account every test shares, and forgetting
        // "user-001" would drop the exchanges other tests are writing for their own "user-001".
        string backendUser = "user-" + Guid.NewGuid().ToString("N");
        app.Mem0.Seed(backendUser, "Prefers e-mail");
        app.Mem0.Seed("user-002", "Lives in Lyon");
        app.Mem0.Seed(signedIn, "Signed-in fact");

        foreach (var (userId, expected) in new[] { (backendUser, "Prefers e-mail"), (signedIn, "Signed-in fact") })
        {
            var list = await app.Client.GetFromJsonAsync<JsonElement>($"/api/users/{Uri.EscapeDataString(userId)}/memories");
            Assert.Equal([expected], list.GetProperty("memories").EnumerateArray().Select(m => m.GetProperty("memory").GetString()));

            using var forget = await app.Client.DeleteAsync($"/api/users/{Uri.EscapeDataString(userId)}/memories");
            Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
            Assert.Empty(app.Mem0.MemoriesOf(userId));
        }
        Assert.Single(app.Mem0.MemoriesOf("user-002"));
    }

    [Theory]
    [InlineData("/api/users/%2A/memories", "userId")]
    [InlineData("/api/users/%20user-001/memories", "userId")]
    [InlineData("/api/users/user-001/memories?pageSize=0", "pageSize")]
    [InlineData("/api/users/user-001/memories?pageSize=101", "pageSize")]
    [InlineData("/api/users/user-001/memories?pageSize=ten", "pageSize")]
    [InlineData("/api/users/user-001/memories?next=", "next")]
    public async Task Bad_ids_and_paging_are_400_problems_naming_the_parameter(string path, string field)
    {
        await using var app = await TestService.StartAsync();

        using var response = await app.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Empty(app.Mem0.Requests.ToList());
    }

    [Fact]
    public async Task A_memory_store_failure_is_a_503_problem_not_a_500()
    {
        await using var app = await TestService.StartAsync();
        app.Mem0.FaultsFor(Mem0Operation.List).FailAlways(FakeFault.ServerError);

        using var response = await app.Client.GetAsync("/api/users/user-001/memories");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
