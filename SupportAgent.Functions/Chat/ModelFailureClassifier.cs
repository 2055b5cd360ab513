using System.ClientModel;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using AiChatOptions = Microsoft.Extensions.AI.ChatOptions;
using AiChatResponse = Microsoft.Extensions.AI.ChatResponse;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Turns whatever the provider's client throws into a <see cref="ModelException"/> (the chat function maps it to
/// 502/503/504 + Retry-After, or 400 for a prompt over the model's context window), for whole replies and streams alike, and refuses a reply without text. The caller's own
/// cancellation passes through untouched; anything unexpected (a bug) does too.
/// </summary>
public sealed class ModelFailureClassifier(IChatClient innerClient) : DelegatingChatClient(innerClient)
{
    public override async Task<AiChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        AiChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken);
        }
        catch (Exception ex) when (Classify(ex, cancellationToken) is { } failure)
        {
            throw failure;
        }
        if (string.IsNullOrWhiteSpace(response.Text))
        {
            throw NoText(response.FinishReason);
        }
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, AiChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var updates = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (updates)
        {
            bool anyText = false;
            ChatFinishReason? finish = null;
            while (await MoveNextAsync(updates, cancellationToken))
            {
                var update = updates.Current;
                anyText |= !string.IsNullOrWhiteSpace(update.Text);
                finish ??= update.FinishReason;
                yield return update;
            }
            if (!anyText)
            {
                throw NoText(finish);
            }
        }
    }

    private static async ValueTask<bool> MoveNextAsync(IAsyncEnumerator<ChatResponseUpdate> updates, CancellationToken cancellationToken)
    {
        try
        {
            return await updates.MoveNextAsync();
        }
        catch (Exception ex) when (Classify(ex, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private static ModelException NoText(ChatFinishReason? finish) =>
        new(ModelFailure.BadGateway, 200, $"The model returned no text (finish reason: {finish?.Value ?? "none"}).");

    /// <summary>The failure to report, or null to let the exception through (the caller cancelled, or a bug).</summary>
    internal static ModelException? Classify(Exception ex, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        return ex switch
        {
            ModelException => null,
            ClientResultException result => Classify(result),
            // The client's retry policy reports every failed attempt; the last one says how it ended.
            AggregateException aggregate => aggregate.InnerExceptions.LastOrDefault() switch
            {
                ClientResultException last => Classify(last),
                OperationCanceledException or TimeoutException => TimedOut(ex),
                _ => Unreachable(ex),
            },
            OperationCanceledException or TimeoutException => TimedOut(ex),
            // A stream cut off while it is being read surfaces as the transport's own exception.
            HttpRequestException or IOException => Unreachable(ex),
            _ => null,
        };
    }

    private static ModelException Classify(ClientResultException ex)
    {
        int status = ex.Status;
        if (status == 0)
        {
            return ex.InnerException is TimeoutException or TaskCanceledException ? TimedOut(ex) : Unreachable(ex);
        }
        if (status == 429)
        {
            return new ModelException(ModelFailure.Unavailable, status, "The model provider is rate limiting requests.",
                ChatRetryPolicy.RetryAfter(ex.GetRawResponse()), ex);
        }
        if (ContextWindowError.From(ex) is { } contextWindow)
        {
            return new ModelException(ModelFailure.ContextWindow, status, "The model refused the prompt as longer than its context window.", inner: ex)
            {
                ContextWindow = contextWindow,
            };
        }
        if (status is 408 or 504)
        {
            return new ModelException(ModelFailure.Timeout, status, "The model did not answer in time.", inner: ex);
        }
        return new ModelException(ModelFailure.BadGateway, status, $"The model provider answered with HTTP {status}.", inner: ex);
    }

    private static ModelException TimedOut(Exception ex) => new(ModelFailure.Timeout, 0, "The model did not answer in time.", inner: ex);

    private static ModelException Unreachable(Exception ex) => new(ModelFailure.Unavailable, 0, "The model could not be reached.", inner: ex);
}
