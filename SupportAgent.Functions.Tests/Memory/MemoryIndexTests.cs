using SupportAgent.Functions.Memory.BuiltIn;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>The index row's encoding: every memory's id, vector, factor and numbers come back as they were written.</summary>
public sealed class MemoryIndexTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(171)] // the first vector that runs across two 64 KiB properties
    [InlineData(BuiltInMemoryStore.DefaultCapacity)]
    public void An_index_round_trips_through_its_table_entity(int count)
    {
        var random = new Random(count);
        var index = MemoryIndex.Empty();
        var start = DateTimeOffset.UtcNow;
        for (int i = 0; i < count; i++)
        {
            var vector = new float[MiniLmEmbeddingGenerator.Dimensions];
            for (int d = 0; d < vector.Length; d++)
            {
                vector[d] = (float)(random.NextDouble() - 0.5);
            }
            index.Add(IndexedMemory.Quantize(MemoryIds.For(start.AddSeconds(i), "ex", i), vector, $"order #{i}"));
        }

        var entity = index.ToEntity("p");
        entity.ETag = new Azure.ETag("W/\"1\"");
        var read = MemoryIndex.FromEntity(entity);

        Assert.Equal(count, read.Count);
        Assert.All(entity.Keys.Where(k => k.StartsWith("Vectors", StringComparison.Ordinal)), k => Assert.InRange(((byte[])entity[k]).Length, 1, 65_536));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(index.Items[i].Id, read.Items[i].Id);
            Assert.Equal(index.Items[i].Vector, read.Items[i].Vector);
            Assert.Equal(index.Items[i].Factor, read.Items[i].Factor);
            Assert.Equal(index.Items[i].Numbers, read.Items[i].Numbers);
        }
        Assert.True(count < 2 || string.CompareOrdinal(read.Items[0].Id, read.Items[1].Id) < 0, "newest first");
    }

    [Fact]
    public void Numbers_tell_apart_sentences_about_different_orders()
    {
        Assert.NotEqual(IndexedMemory.NumbersOf("My order #1234 hasn't arrived."), IndexedMemory.NumbersOf("My order #1235 hasn't arrived."));
        Assert.NotEqual(IndexedMemory.NumbersOf("order 12 34"), IndexedMemory.NumbersOf("order 1234"));
        Assert.Equal(IndexedMemory.NumbersOf("I prefer email over phone."), IndexedMemory.NumbersOf("I prefer email over phone!"));
    }

    [Fact]
    public void Identifiers_and_links_round_trip_and_a_row_written_before_them_reads_as_unlinked()
    {
        var start = DateTimeOffset.UtcNow;
        var vector = new float[MiniLmEmbeddingGenerator.Dimensions];
        vector[0] = 1;
        var older = IndexedMemory.Quantize(MemoryIds.For(start, "ex-1", 0), vector, "My order #1234 hasn't arrived.");
        var newer = IndexedMemory.Quantize(MemoryIds.For(start.AddDays(1), "ex-2", 0), vector, "Order #1234 arrived.");
        var index = MemoryIndex.Empty();
        index.Add(older with { NewerId = newer.Id, Link = SubjectLink.Replaces });
        index.Add(newer);

        var entity = index.ToEntity("p");
        var read = MemoryIndex.FromEntity(entity);

        Assert.Equal(newer.Id, read.Items[1].NewerId);
        Assert.Equal(SubjectLink.Replaces, read.Items[1].Link);
        Assert.Null(read.Items[0].NewerId);
        Assert.Equal(older.Identifiers, read.Items[1].Identifiers);
        Assert.Equal(newer.Id, read.Chains().ReplacedBy(older.Id));

        entity.Remove("NewerIds");
        entity.Remove("Links");
        entity.Remove("Identifiers");
        var before = MemoryIndex.FromEntity(entity);
        Assert.All(before.Items, i => Assert.Null(i.NewerId));
        Assert.All(before.Items, i => Assert.Empty(i.Identifiers));
        Assert.Empty(before.Chains().CurrentOf);
    }

    [Fact]
    public void Identifiers_are_words_with_a_digit_and_at_least_three_characters()
    {
        Assert.Equal(IndexedMemory.IdentifiersOf("order #1234"), IndexedMemory.IdentifiersOf("Order 1234 arrived"));
        Assert.Equal(2, IndexedMemory.IdentifiersOf("My phone is 07700 900123 and 07700 again").Length);
        Assert.Empty(IndexedMemory.IdentifiersOf("It has been 10 days, size M3"));
        Assert.NotEqual(IndexedMemory.IdentifiersOf("INV-2231"), IndexedMemory.IdentifiersOf("INV-2232"));
    }

    [Fact]
    public void A_memory_keeps_its_link_to_the_closer_of_two_newer_statements()
    {
        var start = DateTimeOffset.UtcNow;
        float[] older = Unit((0, 1f)), update = Unit((0, 0.6f), (1, 0.8f)), other = Unit((0, 0.45f), (2, 0.893f));
        var index = MemoryIndex.Empty();
        var said = new[] { (older, "I live in York"), (update, "We moved to Durham"), (other, "Deliveries suit me on Fridays") };
        for (int i = 0; i < said.Length; i++)
        {
            var vector = said[i].Item1;
            index.Add(IndexedMemory.Quantize(MemoryIds.For(start.AddDays(i), $"ex-{i}", 0), vector, said[i].Item2), vector, Supersession.Default);
        }

        var york = index.Items[^1];
        Assert.Equal(index.Items[1].Id, york.NewerId); // Durham (0.60), not the later Friday deliveries (0.45)
        Assert.Equal(SubjectLink.Follows, york.Link);
    }

    private static float[] Unit(params (int Dimension, float Value)[] parts)
    {
        var vector = new float[MiniLmEmbeddingGenerator.Dimensions];
        foreach (var (d, v) in parts)
        {
            vector[d] = v;
        }
        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
        System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
        return vector;
    }
}
