using SupportAgent.Fakes;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// Mem0 answers search and list in several documented shapes depending on API version and options (a bare array,
/// <c>{results}</c>, <c>{count,next,previous,results}</c>, v1 <c>{id, data:{memory}}</c> items); both clients must
/// read every one of them.
/// </summary>
public sealed class Mem0ResponseShapeTests
{
    public static TheoryData<Mem0Flavor, Mem0ResponseShape> Shapes()
    {
        var data = new TheoryData<Mem0Flavor, Mem0ResponseShape>();
        foreach (var flavor in Enum.GetValues<Mem0Flavor>())
        {
            foreach (var shape in Enum.GetValues<Mem0ResponseShape>())
            {
                data.Add(flavor, shape);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Search_results_are_read_in_every_shape(Mem0Flavor flavor, Mem0ResponseShape shape)
    {
        await using var fixture = await Mem0Fixture.StartAsync(flavor);
        var email = fixture.Fake.Seed("alice", "I prefer email over phone");
        fixture.Fake.Seed("alice", "My order #1234 is late");
        fixture.Fake.Seed("bob", "Bob prefers phone");
        fixture.Fake.SearchResponseShape = shape;

        var found = await fixture.Client.SearchAsync("alice", "email", 5, CancellationToken.None);

        Assert.Equal(["I prefer email over phone", "My order #1234 is late"], found.Select(m => m.Memory));
        Assert.Equal(email.Id, found[0].Id);
        if (shape == Mem0ResponseShape.V1Data)
        {
            Assert.All(found, m => Assert.Null(m.Score)); // that shape carries no score
        }
        else
        {
            Assert.All(found, m => Assert.InRange(m.Score!.Value, 0, 1));
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task List_results_are_read_in_every_shape(Mem0Flavor flavor, Mem0ResponseShape shape)
    {
        await using var fixture = await Mem0Fixture.StartAsync(flavor);
        fixture.Fake.Seed("alice", "I prefer email over phone");
        fixture.Fake.Seed("alice", "My order #1234 is late");
        fixture.Fake.Seed("bob", "Bob prefers phone");
        fixture.Fake.ListResponseShape = shape;

        var listed = await fixture.Client.ListAllAsync("alice");

        Assert.Equal(["I prefer email over phone", "My order #1234 is late"], listed.Select(m => m.Memory).Order());
        Assert.All(listed, m => Assert.True(Guid.TryParse(m.Id, out _)));
    }

    [Fact]
    public void A_memory_is_dated_by_its_updated_at_else_its_created_at_and_a_time_without_offset_is_utc()
    {
        using var document = System.Text.Json.JsonDocument.Parse("""
            {"results":[
              {"id":"a","memory":"I live in Bristol","created_at":"2026-05-17T08:00:00-07:00"},
              {"id":"b","memory":"I moved to Cardiff","created_at":"2026-05-17T08:00:00Z","updated_at":"2026-06-01T10:00:00"},
              {"id":"c","memory":"I prefer email"}
            ]}
            """);

        var items = SupportAgent.Functions.Memory.Mem0.Mem0Results.Read(document.RootElement);

        Assert.Equal(new DateTimeOffset(2026, 5, 17, 15, 0, 0, TimeSpan.Zero), items[0].SaidAt);
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero), items[1].SaidAt);
        Assert.Null(items[2].SaidAt);
    }
}
