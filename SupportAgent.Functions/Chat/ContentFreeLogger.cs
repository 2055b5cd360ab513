using Microsoft.Extensions.Logging;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Lets <see cref="LoggingChatClient"/> write its Debug lines (invoked, each update, completed, canceled) and nothing
/// else: its Trace lines hold whole prompts and replies (the user's messages and memories) and its Error line the
/// provider's exception text, which can echo the input. A failed call is logged once, by the chat function, with ids.
/// </summary>
internal sealed class ContentFreeLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Debug && inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel) && exception is null)
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
