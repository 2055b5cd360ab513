using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace SupportAgent.Functions.Chat;

/// <summary>POST /api/chat: parse, call <see cref="ChatService"/>, map the outcome to HTTP.</summary>
public sealed partial class ChatFunction(ChatService chat, ILogger<ChatFunction> logger)
{
    [Function("Chat")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "chat")] HttpRequest req,
        CancellationToken cancellationToken)
    {
        var (request, problem) = await ChatRequestReader.ReadAsync(req, cancellationToken);
        if (problem is not null)
        {
            LogRejected(logger, problem.Status, problem.Field);
            return ChatProblems.Input(problem);
        }

        try
        {
            return new OkObjectResult(await chat.ReplyAsync(request!, cancellationToken));
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat model call failed: {Failure} (provider status {ProviderStatus}, {Error})")]
    private static partial void LogModelFailed(ILogger logger, string failure, int providerStatus, string error);
}
