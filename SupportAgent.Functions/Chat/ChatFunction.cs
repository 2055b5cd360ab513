using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Limits;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// POST /api/chat (a backend names the user) and POST /api/me/chat (the signed-in user): parse, call
/// <see cref="ChatService"/>, map the outcome to HTTP: JSON, or a UI message stream when the client reads one
/// (Accept: text/event-stream, or the AI SDK's request shape). Both routes share everything but where the user comes from.
/// </summary>
public sealed partial class ChatFunction(ChatService chat, PromptBudget promptBudget, SignedInUsers signedInUsers, SupportAgentMetrics metrics, ILogger<ChatFunction> logger)
{
    [Function("Chat")]
    public Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "chat")] HttpRequest req,
        CancellationToken cancellationToken) =>
        ReplyAsync(req, signedInUserId: null, cancellationToken);

    /// <summary>Anonymous at the Functions level: the app itself requires a signed-in user (AUTH_MODE).</summary>
    [Function("MeChat")]
    public Task<IActionResult> RunForSignedInUser(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "me/chat")] HttpRequest req,
        CancellationToken cancellationToken) =>
        signedInUsers.AsSignedInUserAsync(req, userId => ReplyAsync(req, userId, cancellationToken), cancellationToken);

    private async Task<IActionResult> ReplyAsync(HttpRequest req, string? signedInUserId, CancellationToken cancellationToken)
    {
        var (request, problem) = await ChatRequestReader.ReadAsync(req, signedInUserId, cancellationToken);
        problem ??= promptBudget.RefuseTooLong(request!); // before any memory search or model call
        if (problem is not null)
        {
            LogRejected(logger, problem.Status, problem.Field);
            metrics.ChatCompleted(ChatOutcomes.Rejected); // every other outcome is counted where the turn ends (ChatService)
            return ChatProblems.Input(problem);
        }

        // The client hanging up cancels the model call (nobody pays for an unread reply); the result disposes the source.
        var callerGone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, req.HttpContext.RequestAborted);
        req.HttpContext.Response.RegisterForDispose(callerGone);
        try
        {
            var turn = chat.RunAsync(request!, callerGone.Token);
            return UiMessageStreamResult.IsWanted(req, request!)
                ? await UiMessageStreamResult.StartAsync(turn, logger, callerGone.Token)
                : new OkObjectResult(await turn.ToReplyAsync(callerGone.Token));
        }
        catch (LimitExceededException ex)
        {
            return ChatProblems.Limited(ex, req.HttpContext.Response); // counted and logged by the limiter and the turn
        }
        catch (ModelException ex) when (ex.ContextWindow is { } window)
        {
            LogContextWindow(logger, window.PromptTokens, window.MaxOutputTokens, window.ContextTokens, window.ModelWindow, window.ModelCounted);
            return ChatProblems.Model(ex, req.HttpContext.Response);
        }
        catch (ModelException ex)
        {
            LogModelFailed(logger, ex.Failure.ToString(), ex.ProviderStatus, ex.InnerException?.GetType().Name ?? "-");
            return ChatProblems.Model(ex, req.HttpContext.Response);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug, not an input or upstream problem: log it with its stack here, never send it to the client.
            LogUnexpected(logger, ex);
            return ChatProblems.Unexpected();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat request failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat request refused with {Status}: {Field}")]
    private static partial void LogRejected(ILogger logger, int status, string field);

    [LoggerMessage(Level = LogLevel.Error, Message = "The model refused the prompt as longer than its context window: we sent {PromptTokens} prompt tokens + {MaxOutputTokens} output with MODEL_CONTEXT_TOKENS {ContextTokens}; the model says its window is {ModelWindow} and counted {ModelCounted}. Set MODEL_CONTEXT_TOKENS to the model's window")]
    private static partial void LogContextWindow(ILogger logger, int? promptTokens, int? maxOutputTokens, int? contextTokens, int? modelWindow, int? modelCounted);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat model call failed: {Failure} (provider status {ProviderStatus}, {Error})")]
    private static partial void LogModelFailed(ILogger logger, string failure, int providerStatus, string error);
}
