using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// A reply being streamed: its text as the model writes it, then (once complete) the exchange queued for memory.
/// Disposing it before the end means the client went away: the model call is cancelled with the stream and the user's
/// own turn is queued. After a model failure nothing is queued, as for a whole reply: the client was told and can retry.
/// </summary>
public sealed class ChatReplyStream : IAsyncDisposable
{
    private readonly ChatService _service;
    private readonly ChatRequest _request;
    private readonly IAsyncEnumerator<ChatResponseUpdate> _updates;
    private readonly string _first;
    private readonly StringBuilder _reply = new();
    private readonly ChatTurnTelemetry _turn;
    private bool _ended;

    internal ChatReplyStream(ChatService service, ChatRequest request, string exchangeId, RecalledMemories memories,
        IAsyncEnumerator<ChatResponseUpdate> updates, string first, ChatTurnTelemetry turn)
    {
        _turn = turn;
        _service = service;
        _request = request;
        _updates = updates;
        _first = first;
        ExchangeId = exchangeId;
        MemoriesUsed = memories.Facts.Count;
        Memory = memories.Status.Name();
    }

    public string ExchangeId { get; }

    public int MemoriesUsed { get; }

    public string Memory { get; }

    /// <summary>Whether the complete exchange was queued for memory; known once <see cref="ReadAsync"/> has ended.</summary>
    public bool MemorySaved { get; private set; }

    /// <summary>The reply's text pieces as they arrive; at the end the exchange is queued (see <see cref="MemorySaved"/>).</summary>
    public async IAsyncEnumerable<string> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (_first.Length > 0)
        {
            _reply.Append(_first);
            yield return _first;
        }
        while (await NextAsync(cancellationToken))
        {
            string text = _updates.Current.Text;
            if (text.Length > 0)
            {
                _reply.Append(text);
                yield return text;
            }
        }
        _ended = true;
        using (_turn.AsCurrent()) // the enqueue belongs to this turn's span, as in a whole reply
        {
            MemorySaved = await _service.QueueExchangeAsync(_request, ExchangeId, _reply.ToString());
        }
        _turn.Succeeded();
    }

    private async ValueTask<bool> NextAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await _updates.MoveNextAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _ended = true; // the model failed: the client hears about it; nothing to remember
            _turn.Failed(ex, cancellationToken);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _updates.DisposeAsync(); // ends the model's HTTP response, if still open
        if (!_ended)
        {
            _ended = true;
            using (_turn.AsCurrent())
            {
                await _service.QueueUnansweredAsync(_request, ExchangeId, _reply.Length);
            }
            _turn.Failed(new OperationCanceledException(), new CancellationToken(canceled: true)); // the client went away
        }
    }
}
