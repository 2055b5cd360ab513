using System.Net.Sockets;
using Azure;
using Azure.Identity;

namespace SupportAgent.Functions.Storage;

/// <summary>
/// The storage account could not be used at all: unreachable, or refusing the credentials. The message is one sentence
/// that names the endpoint and the setting to fix, and never holds a key or a connection string.
/// </summary>
public sealed class StorageUnavailableException(string message, Exception inner) : Exception(message, inner)
{
    public static StorageUnavailableException From(Exception ex, Uri endpoint, string setting)
    {
        string where = $"{endpoint.Scheme}://{endpoint.Authority}";
        string fix = IsLocalEmulator(endpoint)
            ? $"Start Azurite (scripts/run.sh does) or fix {setting}."
            : $"Check {setting} and that this machine can reach the account.";
        var failed = Find<RequestFailedException>(ex);
        string what = failed switch
        {
            { Status: 401 or 403 } => $"refused the credentials in {setting} (HTTP {failed.Status} {failed.ErrorCode})",
            { Status: >= 400 } => $"answered HTTP {failed.Status} {failed.ErrorCode}",
            _ when Find<AuthenticationFailedException>(ex) is not null || Find<CredentialUnavailableException>(ex) is not null =>
                "could not be reached with the app's identity (no credential: sign in with `az login`, or give the app a managed identity)",
            _ when Find<SocketException>(ex) is { } socket => $"cannot be reached ({socket.SocketErrorCode}: {socket.Message})",
            _ when Find<HttpRequestException>(ex) is { } http => $"cannot be reached ({http.Message})",
            _ when Find<OperationCanceledException>(ex) is not null => "did not answer in time",
            _ => $"cannot be used ({ex.GetType().Name})",
        };
        return new StorageUnavailableException($"the storage account at {where} {what}. {fix}", ex);
    }

    private static bool IsLocalEmulator(Uri endpoint) => endpoint.IsLoopback;

    private static T? Find<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
            if (ex is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(Find<T>).FirstOrDefault(f => f is not null);
            }
        }
        return null;
    }
}
