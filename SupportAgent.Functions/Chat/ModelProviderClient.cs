using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using Microsoft.Extensions.AI;
using OpenAI;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Makes the provider's own chat client as a Microsoft.Extensions.AI <see cref="IChatClient"/>: OpenAI, OpenAI-compatible
/// servers and Azure OpenAI deployments, sending through the given HttpClient with the app's retry policy. The
/// middleware every call goes through is added around it by <see cref="ModelPipeline"/>.
/// </summary>
public static class ModelProviderClient
{
    public static IChatClient Create(ModelOptions o, HttpClient httpClient)
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
            return azure.GetChatClient(o.AzureDeployment!.Trim()).AsIChatClient();
        }

        var options = new OpenAIClientOptions { Transport = transport, RetryPolicy = retry, NetworkTimeout = o.Timeout };
        if (!string.IsNullOrWhiteSpace(o.OpenAiBaseUrl))
        {
            options.Endpoint = new Uri(o.OpenAiBaseUrl.Trim());
        }
        // Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) usually need no key, but the client requires one.
        string key = string.IsNullOrWhiteSpace(o.OpenAiApiKey) ? "no-key" : o.OpenAiApiKey.Trim();
        return new OpenAI.Chat.ChatClient(o.ModelName, new ApiKeyCredential(key), options).AsIChatClient();
    }
}
