using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Memory.Local;
using SupportAgent.Functions.Memory.Mem0;
using SupportAgent.Functions.Storage;

namespace SupportAgent.SelfHost;

/// <summary>What the self host says about itself when it starts: where each dependency is, never a key.</summary>
internal static class SelfHostBanner
{
    public static string Model(ModelOptions o) => o.Provider == ModelProvider.AzureOpenAi
        ? $"Azure OpenAI deployment {o.AzureDeployment?.Trim()} at {Authority(o.AzureEndpoint)}"
        : $"{o.ModelName} at {(string.IsNullOrWhiteSpace(o.OpenAiBaseUrl) ? "api.openai.com" : Authority(o.OpenAiBaseUrl))}";

    public static string Memory(Mem0Options o) => o.Api switch
    {
        Mem0Api.Local => $"local store (table '{LocalMemoryStore.TableName}' in the storage account)",
        Mem0Api.Server => $"Mem0 server at {o.BaseAddress.Authority}",
        _ => $"Mem0 Platform at {o.BaseAddress.Authority}",
    };

    public static string Storage(StorageClients storage)
    {
        var (queue, _, _) = storage.Endpoints();
        return queue.IsLoopback
            ? $"local emulator (Azurite) at {queue.Authority}"
            : $"{queue.Host} ({storage.SettingName})";
    }

    /// <summary>Host and port only: a URL's path, user info or query never reaches the log.</summary>
    private static string Authority(string? url) =>
        Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var uri) ? uri.Authority : "(invalid URL)";
}
