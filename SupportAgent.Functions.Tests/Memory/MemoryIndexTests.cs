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
}
