using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;

namespace SupportAgent.SelfHost;

/// <summary>What the self host says about itself when it starts: where each dependency is, never a key.</summary>
internal static class SelfHostBanner
{
    public static string Model(ModelOptions o) => o.Provider == ModelProvider.AzureOpenAi
        ? $"Azure OpenAI deployment {o.AzureDeployment?.Trim()} at {Authority(o.AzureEndpoint)}"
        : $"{o.ModelName} at {(string.IsNullOrWhiteSpace(o.OpenAiBaseUrl) ? "api.openai.com" : Authority(o.OpenAiBaseUrl))}";

    public static string Memory(MemoryStoreOptions o) => o.Kind switch
    {
        MemoryStoreKind.BuiltIn => $"built-in store (table '{BuiltInMemoryStore.TableName}' in the storage account; {o.Reason})",
        MemoryStoreKind.Mem0Server => $"Mem0 server at {o.Mem0BaseAddress.Authority}",
        _ => $"Mem0 Platform at {o.Mem0BaseAddress.Authority}",
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
