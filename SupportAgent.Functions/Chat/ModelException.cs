namespace SupportAgent.Functions.Chat;

public enum ModelFailure
{
    /// <summary>The provider answered with an error (5xx, auth, bad request) or with no text: 502.</summary>
    BadGateway,

    /// <summary>The provider could not be reached or is rate limiting us: 503.</summary>
    Unavailable,

    /// <summary>The provider did not answer in time: 504.</summary>
    Timeout,

    /// <summary>The model refused the prompt as longer than its context window (<c>context_length_exceeded</c>): 400 naming MODEL_CONTEXT_TOKENS.</summary>
    ContextWindow,
}

/// <summary>The chat model could not produce a reply. Carries no provider text: it may echo the user's input.</summary>
public sealed class ModelException(ModelFailure failure, int providerStatus, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public ModelFailure Failure { get; } = failure;

    public int ProviderStatus { get; } = providerStatus;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The token counts of a <see cref="ModelFailure.ContextWindow"/> failure.</summary>
    public ContextWindowError? ContextWindow { get; init; }
}
