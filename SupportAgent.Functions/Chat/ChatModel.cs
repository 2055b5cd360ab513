using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using SupportAgent.Functions.Conversation;

namespace SupportAgent.Functions.Chat;

public enum ModelFailure
{
    /// <summary>The provider answered with an error (5xx, auth, bad request): 502.</summary>
    BadGateway,

    /// <summary>The provider could not be reached or is rate limiting us: 503.</summary>
    Unavailable,

    /// <summary>The provider did not answer in time: 504.</summary>
    Timeout,
}

/// <summary>The chat model could not produce a reply. Carries no provider text: it may echo the user's input.</summary>
public sealed class ModelException(ModelFailure failure, int providerStatus, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public ModelFailure Failure { get; } = failure;

    public int ProviderStatus { get; } = providerStatus;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>The chat completion call, for OpenAI, OpenAI-compatible servers and Azure OpenAI alike.</summary>
public sealed class ChatModel(ChatClient client)
{
    public async Task<string> CompleteAsync(string systemPrompt, IReadOnlyList<ChatTurn> conversation, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>(conversation.Count + 1) { new SystemChatMessage(systemPrompt) };
        foreach (var turn in conversation)
        {
            messages.Add(turn.Role == ChatTurn.Assistant ? new AssistantChatMessage(turn.Content) : new UserChatMessage(turn.Content));
        }

        ChatCompletion completion;
        try
        {
            completion = (await client.CompleteChatAsync(messages, cancellationToken: cancellationToken)).Value;
        }
        catch (ClientResultException ex)
        {
            throw Classify(ex);
        }
        catch (AggregateException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The client's retry policy reports every failed attempt; the last one says how it ended.
            throw ex.InnerExceptions.LastOrDefault() switch
            {
                ClientResultException last => Classify(last),
                OperationCanceledException or TimeoutException => new ModelException(ModelFailure.Timeout, 0, "The model did not answer in time.", inner: ex),
                _ => new ModelException(ModelFailure.Unavailable, 0, "The model could not be reached.", inner: ex),
            };
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelException(ModelFailure.Timeout, 0, "The model did not answer in time.", inner: ex);
        }

        string reply = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text));
        if (string.IsNullOrWhiteSpace(reply))
        {
            throw new ModelException(ModelFailure.BadGateway, 200, $"The model returned no text (finish reason: {completion.FinishReason}).");
        }
        return reply;
    }

    private static ModelException Classify(ClientResultException ex)
    {
        int status = ex.Status;
        if (status == 0)
        {
            return ex.InnerException is TimeoutException or TaskCanceledException
                ? new ModelException(ModelFailure.Timeout, 0, "The model did not answer in time.", inner: ex)
                : new ModelException(ModelFailure.Unavailable, 0, "The model could not be reached.", inner: ex);
        }
        if (status == 429)
        {
            return new ModelException(ModelFailure.Unavailable, status, "The model provider is rate limiting requests.", RetryAfter(ex), ex);
        }
        if (status is 408 or 504)
        {
            return new ModelException(ModelFailure.Timeout, status, "The model did not answer in time.", inner: ex);
        }
        return new ModelException(ModelFailure.BadGateway, status, $"The model provider answered with HTTP {status}.", inner: ex);
    }

    private static TimeSpan? RetryAfter(ClientResultException ex) => ChatRetryPolicy.RetryAfter(ex.GetRawResponse());

    /// <summary>Builds the provider's client from the settings, sending through the app's pooled HttpClient.</summary>
    public static ChatClient CreateClient(ModelOptions o, HttpClient httpClient)
    {
        var transport = new HttpClientPipelineTransport(httpClient);
        var retry = new ChatRetryPolicy();
        if (o.Provider == ModelProvider.AzureOpenAi)
        {
            var azureOptions = new AzureOpenAIClientOptions { Transport = transport, RetryPolicy = retry, NetworkTimeout = o.Timeout };
            var endpoint = new Uri(o.AzureEndpoint!.Trim());
            var azure = string.IsNullOrWhiteSpace(o.AzureApiKey)
                ? new AzureOpenAIClient(endpoint, new DefaultAzureCredential(), azureOptions) // Entra ID: managed identity when deployed
                : new AzureOpenAIClient(endpoint, new ApiKeyCredential(o.AzureApiKey.Trim()), azureOptions);
            return azure.GetChatClient(o.AzureDeployment!.Trim());
        }

        var options = new OpenAIClientOptions { Transport = transport, RetryPolicy = retry, NetworkTimeout = o.Timeout };
        if (!string.IsNullOrWhiteSpace(o.OpenAiBaseUrl))
        {
            options.Endpoint = new Uri(o.OpenAiBaseUrl.Trim());
        }
        // Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) usually need no key, but the client requires one.
        string key = string.IsNullOrWhiteSpace(o.OpenAiApiKey) ? "no-key" : o.OpenAiApiKey.Trim();
        return new ChatClient(o.ModelName, new ApiKeyCredential(key), options);
    }
}

/// <summary>
/// Retries a failed model call twice, honouring Retry-After, but never makes the user wait long for it: when the
/// provider asks for more than <see cref="MaxWait"/>, the call fails at once and the client gets 503 with that Retry-After.
/// </summary>
internal sealed class ChatRetryPolicy() : ClientRetryPolicy(maxRetries: 2)
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(3);

    protected override bool ShouldRetry(PipelineMessage message, Exception? exception) =>
        base.ShouldRetry(message, exception) && !(RetryAfter(message.Response) > MaxWait);

    protected override ValueTask<bool> ShouldRetryAsync(PipelineMessage message, Exception? exception) =>
        RetryAfter(message.Response) > MaxWait ? ValueTask.FromResult(false) : base.ShouldRetryAsync(message, exception);

    internal static TimeSpan? RetryAfter(PipelineResponse? response)
    {
        if (response is not null && response.Headers.TryGetValue("Retry-After", out var value))
        {
            if (int.TryParse(value, out int seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }
            if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            {
                return date - DateTimeOffset.UtcNow;
            }
        }
        return null;
    }
}
