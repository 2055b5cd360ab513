using Microsoft.Extensions.Options;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>The built-in store against Azurite, with the real embedding model: what a user of it would notice.</summary>
public sealed class BuiltInMemoryStoreTests
{
    internal static readonly MiniLmEmbeddingGenerator Embeddings = new();

    internal static BuiltInMemoryStore NewStore(int capacity = BuiltInMemoryStore.DefaultCapacity) =>
        new(new StorageClients(Options.Create(new StorageOptions { ConnectionString = Azurite.Instance.ConnectionString })), Embeddings, new MemoryIndexCache(), TimeProvider.System)
        {
            Capacity = capacity,
        };

    private readonly BuiltInMemoryStore _store = NewStore();

    // Every test has users of its own (the table is shared by the whole run).
    private readonly string _alice = "alice-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _bob = "bob-" + Guid.NewGuid().ToString("N")[..8];

    internal static MemoryExchange Exchange(string userId, params string[] userSays) =>
        new("ex-" + Guid.NewGuid().ToString("N"), userId, DateTimeOffset.UtcNow,
            [.. userSays.Select(s => new ChatTurn(ChatTurn.User, s)), new ChatTurn(ChatTurn.Assistant, "Noted, thanks.")]);

    private Task SaysAsync(string userId, params string[] statements) => _store.AddAsync(Exchange(userId, statements), CancellationToken.None);

    private Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK = 5) => _store.SearchAsync(userId, query, topK, CancellationToken.None);

    [Fact]
    public async Task A_follow_up_that_shares_no_words_with_the_fact_finds_it()
    {
        await SaysAsync(_alice, "I returned the red jacket on Monday and I'm waiting for my refund.");
        foreach (var other in new[] { "We have two cats and a small dog at home.", "I'm training for a half marathon in October.", "I usually pay with PayPal." })
        {
            await SaysAsync(_alice, other);
        }

        var found = await SearchAsync(_alice, "Has my money come back yet?");

        Assert.Equal("I returned the red jacket on Monday and I'm waiting for my refund.", found[0].Memory);
        Assert.All(found, m => Assert.InRange(m.Score!.Value, 0, 1));
        Assert.All(found, m => Assert.True(MemoryIds.IsValid(m.Id), m.Id));
    }

    [Fact]
    public async Task Another_user_never_sees_them_and_a_new_user_sees_nothing()
    {
        await SaysAsync(_alice, "My order #1234 hasn't arrived. It's been 10 days.");
        await SaysAsync(_bob, "My order #9999 is missing a part.");

        var alice = await SearchAsync(_alice, "Where is my order?");
        var bob = await SearchAsync(_bob, "Where is my order?");
        var newcomer = await SearchAsync("carol-" + Guid.NewGuid().ToString("N"), "Where is my order?");

        Assert.Equal(["My order #1234 hasn't arrived. It's been 10 days."], alice.Select(m => m.Memory));
        Assert.Equal(["My order #9999 is missing a part."], bob.Select(m => m.Memory));
        Assert.Empty(newcomer);
    }

    [Fact]
    public async Task A_search_gives_up_when_its_caller_does_even_while_the_model_is_still_loading()
    {
        // Alice has a memory, so the search needs the model to embed the query.
        await SaysAsync(_alice, "My order #1234 hasn't arrived. It's been 10 days.");
        using var loading = new ModelLoadGate(); // a model that stays loading until released
        var store = new BuiltInMemoryStore(new StorageClients(Options.Create(new StorageOptions { ConnectionString = Azurite.Instance.ConnectionString })), loading.Model, new MemoryIndexCache(), TimeProvider.System);
        using var caller = new CancellationTokenSource();

        var search = store.SearchAsync(_alice, "Any updates?", 5, caller.Token);
        await loading.Started.WaitAsync(Eventually.Generous); // the search asked for the model, which is loading
        caller.Cancel(); // the caller gives up (the chat path's budget)

        // The model cannot finish loading before the release below: only honouring the cancellation ends the search.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => search.WaitAsync(Eventually.Generous));
        Assert.False(loading.Model.IsLoaded);
    }

    [Fact]
    public async Task Storage_that_cannot_be_reached_fails_as_a_transient_memory_store_failure()
    {
        int closed = SupportAgent.Fakes.Loopback.FreePort(); // nothing listens there
        var store = new BuiltInMemoryStore(new StorageClients(Options.Create(new StorageOptions { ConnectionString = SupportAgent.Fakes.Loopback.AzuriteConnectionString(closed, closed, closed) })),
            Embeddings, new MemoryIndexCache(), TimeProvider.System);

        var search = await Assert.ThrowsAsync<MemoryStoreException>(() => store.SearchAsync(_alice, "Where is my order?", 5, CancellationToken.None));
        var add = await Assert.ThrowsAsync<MemoryStoreException>(() => store.AddAsync(Exchange(_alice, "My dog is called Rex."), CancellationToken.None));

        Assert.All(new[] { search, add }, ex => Assert.True(ex.IsTransient));
        Assert.All(new[] { search, add }, ex => Assert.Null(ex.Status));
    }

    [Fact]
    public async Task Unrelated_memories_stay_out_of_the_prompt()
    {
        await SaysAsync(_alice, "My laptop is a Dell XPS 13 from 2022.");

        Assert.Empty(await SearchAsync(_alice, "What are the opening hours of the Paris shop on Sunday?"));
    }

    [Fact]
    public async Task Greetings_and_pure_questions_are_not_remembered_but_statements_in_them_are()
    {
        await SaysAsync(_alice, "Any updates?");
        await SaysAsync(_alice, "thanks!");
        await SaysAsync(_alice, "Hi, my order #1234 hasn't arrived. It's been 10 days");

        var listed = await _store.ListAllAsync(_alice);

        Assert.Equal(["Hi, my order #1234 hasn't arrived. It's been 10 days"], listed.Select(m => m.Memory));
        Assert.Equal("Hi, my order #1234 hasn't arrived. It's been 10 days", (await SearchAsync(_alice, "Any updates?"))[0].Memory);
    }

    [Fact]
    public async Task A_redelivered_exchange_is_written_once()
    {
        var exchange = Exchange(_alice, "I prefer email over phone.", "My address is 14 Elm Road, Leeds.");

        await _store.AddAsync(exchange, CancellationToken.None);
        await _store.AddAsync(exchange, CancellationToken.None);

        Assert.Equal(2, (await _store.ListAllAsync(_alice)).Count);
        Assert.Equal(2, (await SearchAsync(_alice, "How do I reach you and where do you live?", 10)).Count);
    }

    [Fact]
    public async Task A_near_duplicate_is_stored_once_with_the_newer_wording()
    {
        await SaysAsync(_alice, "I prefer email over phone.");
        await SaysAsync(_alice, "I prefer email over phone!");

        var listed = await _store.ListAllAsync(_alice);

        Assert.Equal(["I prefer email over phone!"], listed.Select(m => m.Memory));
    }

    private Task SaidAsync(string userId, DateTimeOffset when, string statement) =>
        _store.AddAsync(Exchange(userId, statement) with { CreatedAt = when }, CancellationToken.None);

    [Fact]
    public async Task A_memory_is_dated_when_it_was_said_even_when_written_later()
    {
        var said = DateTimeOffset.UtcNow.AddDays(-3); // a queued write retried days after the exchange
        await SaidAsync(_alice, said, "I prefer email over phone.");

        var found = Assert.Single(await SearchAsync(_alice, "How should you contact me?"));

        Assert.Equal(said, found.SaidAt);
        Assert.Equal(said, Assert.Single(await _store.ListAllAsync(_alice)).CreatedAt);
    }

    [Fact]
    public async Task A_newer_statement_on_the_same_subject_replaces_the_older_one_which_stays_listed_as_replaced()
    {
        var monday = DateTimeOffset.UtcNow.AddDays(-7);
        await SaidAsync(_alice, monday, "My phone number is 07700 900123.");
        await SaidAsync(_alice, monday.AddDays(1), "We have two cats and a small dog at home.");
        await SaidAsync(_alice, monday.AddDays(2), "My phone number changed to 07700 900456.");

        var found = await SearchAsync(_alice, "Which number do you have on file for me?");
        var listed = await _store.ListAllAsync(_alice);

        Assert.Contains(found, m => m.Memory == "My phone number changed to 07700 900456.");
        Assert.DoesNotContain(found, m => m.Memory == "My phone number is 07700 900123.");
        var newer = listed.Single(m => m.Memory == "My phone number changed to 07700 900456.");
        Assert.Equal(newer.Id, listed.Single(m => m.Memory == "My phone number is 07700 900123.").SupersededBy);
        Assert.All(listed.Where(m => m != listed.Single(m => m.Memory == "My phone number is 07700 900123.")), m => Assert.Null(m.SupersededBy));
    }

    [Fact]
    public async Task A_query_worded_like_the_old_statement_finds_the_one_that_replaced_it()
    {
        var start = DateTimeOffset.UtcNow.AddDays(-30);
        await SaidAsync(_alice, start, "My order #5530 with the office chair hasn't shipped yet.");
        string[] others = ["I'm training for a half marathon in October.", "I usually pay with PayPal.", "I knit scarves for my grandchildren.", "I drink oat milk in my coffee.", "I play the cello in a local orchestra.", "My daughter is starting university in September."];
        for (int i = 0; i < others.Length; i++)
        {
            await SaidAsync(_alice, start.AddDays(1 + i), others[i]);
        }
        await SaidAsync(_alice, start.AddDays(10), "Order #5530 shipped today, tracking says Thursday.");
        await SaidAsync(_alice, start.AddDays(12), "The chair from order #5530 was delivered and assembled, all good.");

        var found = await SearchAsync(_alice, "Has my office chair shipped yet?", topK: 1);

        Assert.Equal("The chair from order #5530 was delivered and assembled, all good.", Assert.Single(found).Memory);
    }

    [Fact]
    public async Task A_write_the_queue_delivers_late_does_not_replace_what_was_said_after_it()
    {
        var now = DateTimeOffset.UtcNow;
        await SaidAsync(_alice, now.AddDays(-1), "My phone number changed to 07700 900456.");
        await SaidAsync(_alice, now.AddDays(-5), "My phone number is 07700 900123."); // said first, written last

        var found = await SearchAsync(_alice, "Which number do you have on file for me?");

        Assert.Equal(["My phone number changed to 07700 900456."], found.Select(m => m.Memory));
    }

    [Fact]
    public async Task Deleting_the_newer_memory_brings_back_the_one_it_replaced()
    {
        var now = DateTimeOffset.UtcNow;
        await SaidAsync(_alice, now.AddDays(-5), "My phone number is 07700 900123.");
        await SaidAsync(_alice, now.AddDays(-1), "My phone number changed to 07700 900456.");
        var newer = (await _store.ListAllAsync(_alice)).Single(m => m.Memory.Contains("900456", StringComparison.Ordinal));

        Assert.True(await _store.DeleteAsync(_alice, newer.Id, CancellationToken.None));

        Assert.Equal(["My phone number is 07700 900123."], (await SearchAsync(_alice, "Which number do you have on file for me?")).Select(m => m.Memory));
        Assert.Null(Assert.Single(await _store.ListAllAsync(_alice)).SupersededBy);
    }

    [Fact]
    public async Task An_update_close_but_not_surely_on_the_same_subject_comes_along_with_the_older_statement()
    {
        var now = DateTimeOffset.UtcNow;
        await SaidAsync(_alice, now.AddDays(-10), "Hi, my order #1234 has not arrived. It has been 10 days");
        await SaidAsync(_alice, now.AddDays(-1), "Actually the order arrived yesterday, thanks! But the box was damaged.");

        var found = await SearchAsync(_alice, "Where is order #1234?", topK: 1); // one place: the newer statement takes it

        Assert.Equal("Actually the order arrived yesterday, thanks! But the box was damaged.", Assert.Single(found).Memory);
        var both = await SearchAsync(_alice, "Where is order #1234?", topK: 2);
        Assert.Equal(2, both.Count);
        Assert.All(await _store.ListAllAsync(_alice), m => Assert.Null(m.SupersededBy)); // both stand: the older one is not replaced
    }

    [Fact]
    public async Task Statements_about_two_different_orders_never_replace_each_other()
    {
        var now = DateTimeOffset.UtcNow;
        await SaidAsync(_alice, now.AddDays(-3), "My order #5521 with the desk lamp arrived fine.");
        await SaidAsync(_alice, now.AddDays(-1), "Order #5530 with the office chair is still missing.");

        Assert.Contains(await SearchAsync(_alice, "Did the desk lamp arrive?"), m => m.Memory == "My order #5521 with the desk lamp arrived fine.");
        Assert.All(await _store.ListAllAsync(_alice), m => Assert.Null(m.SupersededBy));
    }

    [Fact]
    public async Task A_redelivered_update_is_written_and_linked_once()
    {
        var now = DateTimeOffset.UtcNow;
        await SaidAsync(_alice, now.AddDays(-5), "My phone number is 07700 900123.");
        var update = Exchange(_alice, "My phone number changed to 07700 900456.") with { CreatedAt = now.AddDays(-1) };

        await _store.AddAsync(update, CancellationToken.None);
        await _store.AddAsync(update, CancellationToken.None);

        var listed = await _store.ListAllAsync(_alice);
        Assert.Equal(2, listed.Count);
        Assert.Equal(listed[0].Id, listed[1].SupersededBy); // newest first: the update replaces the older number
        Assert.Equal(["My phone number changed to 07700 900456."], (await SearchAsync(_alice, "Which number do you have on file for me?")).Select(m => m.Memory));
    }

    [Fact]
    public async Task Statements_that_differ_only_in_a_number_are_both_kept()
    {
        await SaysAsync(_alice, "My order #1234 hasn't arrived.");
        await SaysAsync(_alice, "My order #1235 hasn't arrived.");

        Assert.Equal(2, (await _store.ListAllAsync(_alice)).Count);
    }

    [Fact]
    public async Task Beyond_the_capacity_the_oldest_memory_is_deleted()
    {
        var store = NewStore(capacity: 3);
        string[] said = ["I live in Lisbon.", "My dog is called Rex.", "I work as a nurse.", "My favourite colour is green."];
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (int i = 0; i < said.Length; i++)
        {
            await store.AddAsync(Exchange(_alice, said[i]) with { CreatedAt = start.AddMinutes(i) }, CancellationToken.None);
        }

        var listed = await store.ListAllAsync(_alice);

        Assert.Equal(["My favourite colour is green.", "I work as a nurse.", "My dog is called Rex."], listed.Select(m => m.Memory)); // newest first
        Assert.DoesNotContain(await store.SearchAsync(_alice, "Which city do I live in?", 5, CancellationToken.None), m => m.Memory == "I live in Lisbon.");
    }

    [Fact]
    public async Task Another_instance_never_searches_a_stale_copy_of_the_index()
    {
        var other = NewStore(); // a second app instance, with a cache of its own
        await SaysAsync(_alice, "My dog is called Rex.");
        Assert.Single(await other.SearchAsync(_alice, "What is my dog's name?", 5, CancellationToken.None)); // now cached there

        await SaysAsync(_alice, "My other dog is called Max.");
        var afterAdd = await other.SearchAsync(_alice, "What are my dogs called?", 5, CancellationToken.None);
        var rex = (await _store.ListAllAsync(_alice)).Single(m => m.Memory.Contains("Rex"));
        await _store.DeleteAsync(_alice, rex.Id, CancellationToken.None);
        var afterDelete = await other.SearchAsync(_alice, "What are my dogs called?", 5, CancellationToken.None);
        await _store.DeleteAllAsync(_alice, CancellationToken.None);
        var afterForget = await other.SearchAsync(_alice, "What are my dogs called?", 5, CancellationToken.None);

        Assert.Equal(2, afterAdd.Count);
        Assert.Equal(["My other dog is called Max."], afterDelete.Select(m => m.Memory));
        Assert.Empty(afterForget);
    }

    [Fact]
    public async Task Concurrent_writes_for_one_user_all_land()
    {
        string[] said = ["I live in Lisbon.", "My dog is called Rex.", "I work as a nurse.", "My favourite colour is green.", "I drive a blue Volvo.", "I was born in 1980."];

        await Task.WhenAll(said.Select(s => SaysAsync(_alice, s)));

        Assert.Equal(said.Order(), (await _store.ListAllAsync(_alice)).Select(m => m.Memory).Order());
        Assert.Equal(said.Order(), (await SearchAsync(_alice, "tell me about me", 10)).Select(m => m.Memory).Order());
    }

    [Fact]
    public async Task List_pages_newest_first()
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        string[] said = ["First fact about me.", "Second fact about me.", "Third fact about me."];
        for (int i = 0; i < said.Length; i++)
        {
            await _store.AddAsync(Exchange(_alice, said[i]) with { CreatedAt = start.AddMinutes(i) }, CancellationToken.None);
        }

        var first = await _store.ListAsync(_alice, 2, null, CancellationToken.None);
        var second = await _store.ListAsync(_alice, 2, first.Next, CancellationToken.None);

        Assert.Equal(["Third fact about me.", "Second fact about me."], first.Items.Select(m => m.Memory));
        Assert.Equal(["First fact about me."], second.Items.Select(m => m.Memory));
        Assert.Null(second.Next);
        Assert.All(first.Items.Concat(second.Items), m => Assert.NotNull(m.CreatedAt));
    }

    [Fact]
    public async Task Delete_removes_one_memory_from_list_and_search()
    {
        await SaysAsync(_alice, "I prefer email over phone.");
        await SaysAsync(_alice, "My laptop is a Dell XPS 13.");
        var email = (await _store.ListAllAsync(_alice)).Single(m => m.Memory.Contains("email"));

        Assert.True(await _store.DeleteAsync(_alice, email.Id, CancellationToken.None));
        Assert.False(await _store.DeleteAsync(_alice, email.Id, CancellationToken.None));

        Assert.Equal(["My laptop is a Dell XPS 13."], (await _store.ListAllAsync(_alice)).Select(m => m.Memory));
        Assert.DoesNotContain(await SearchAsync(_alice, "How should we contact you?"), m => m.Id == email.Id);
    }

    [Fact]
    public async Task Another_users_memory_id_is_not_found_and_stays()
    {
        await SaysAsync(_bob, "Bob's dog is called Rex.");
        var bobs = Assert.Single(await _store.ListAllAsync(_bob));

        Assert.False(await _store.DeleteAsync(_alice, bobs.Id, CancellationToken.None));

        Assert.Single(await _store.ListAllAsync(_bob));
        Assert.Single(await SearchAsync(_bob, "What is my dog's name?"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("*")]
    [InlineData("a/b")]
    [InlineData("index")]
    [InlineData("m0000")]
    public async Task Malformed_memory_ids_are_not_found(string memoryId)
    {
        await SaysAsync(_alice, "My dog is called Rex.");

        Assert.False(await _store.DeleteAsync(_alice, memoryId, CancellationToken.None));

        Assert.Single(await SearchAsync(_alice, "What is my dog's name?"));
    }

    [Fact]
    public async Task Delete_all_removes_that_users_memories_only()
    {
        await SaysAsync(_alice, "Alice's dog is called Rex.", "Alice lives in Lisbon.");
        await SaysAsync(_bob, "Bob's dog is called Max.");

        await _store.DeleteAllAsync(_alice, CancellationToken.None);

        Assert.Empty(await _store.ListAllAsync(_alice));
        Assert.Empty(await SearchAsync(_alice, "What is my dog's name?"));
        Assert.Single(await _store.ListAllAsync(_bob));
        await SaysAsync(_alice, "Alice's cat is called Tom."); // and the user can start again
        Assert.Single(await _store.ListAllAsync(_alice));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("*")]
    [InlineData("alice*")]
    public async Task Empty_and_wildcard_user_ids_are_refused(string userId)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.SearchAsync(userId, "order", 5, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.AddAsync(Exchange(userId, "My dog is called Rex."), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ListAsync(userId, 10, null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.DeleteAsync(userId, "m1", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.DeleteAllAsync(userId, CancellationToken.None));
    }

    [Fact]
    public async Task User_ids_that_differ_only_in_case_or_spacing_are_different_users()
    {
        await SaysAsync(_alice, "My dog is called Rex.");

        Assert.Empty(await SearchAsync(_alice.ToUpperInvariant(), "What is my dog's name?"));
        Assert.Empty(await SearchAsync(_alice + " ", "What is my dog's name?"));
    }
}
