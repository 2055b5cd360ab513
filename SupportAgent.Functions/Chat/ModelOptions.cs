using Microsoft.Extensions.Configuration;
using SupportAgent.Functions.Configuration;
using Microsoft.Extensions.Options;

namespace SupportAgent.Functions.Chat;

public enum ModelProvider
{
    OpenAi,
    AzureOpenAi,
}

/// <summary>Which chat model to call and how: OpenAI, any OpenAI-compatible endpoint, or an Azure OpenAI deployment.</summary>
public sealed class ModelOptions
{
    public const string DefaultModel = "gpt-4o-mini";

    [ConfigurationKeyName(SettingNames.OpenAiApiKey)] public string? OpenAiApiKey { get; set; }
    [ConfigurationKeyName(SettingNames.OpenAiModel)] public string? Model { get; set; }
    [ConfigurationKeyName(SettingNames.OpenAiBaseUrl)] public string? OpenAiBaseUrl { get; set; }
    [ConfigurationKeyName(SettingNames.OpenAiTimeoutSeconds)] public int TimeoutSeconds { get; set; } = 60;
    [ConfigurationKeyName(SettingNames.ModelStreamIdleSeconds)] public int StreamIdleSeconds { get; set; } = 30;
    [ConfigurationKeyName(SettingNames.AzureOpenAiEndpoint)] public string? AzureEndpoint { get; set; }
    [ConfigurationKeyName(SettingNames.AzureOpenAiDeployment)] public string? AzureDeployment { get; set; }
    [ConfigurationKeyName(SettingNames.AzureOpenAiApiKey)] public string? AzureApiKey { get; set; }

    /// <summary>
    /// Opt-in: the model call's span also records the prompt, the memories in it and the reply (the GenAI conventions'
    /// message content). Off unless set to true: that text is personal data, and telemetry otherwise holds none.
    /// </summary>
    [ConfigurationKeyName(SettingNames.GenAiCaptureMessageContent)] public bool CaptureMessageContent { get; set; }

    /// <summary>
    /// Values left as an example wrote them ("sk-...", "&lt;your key&gt;") count as not set, so a copied settings file
    /// that names no real model is refused at start-up, naming the settings, instead of failing on every chat.
    /// </summary>
    internal static void DropPlaceholders(ModelOptions o)
    {
        o.OpenAiApiKey = SettingValue.OrNull(o.OpenAiApiKey);
        o.Model = SettingValue.OrNull(o.Model);
        o.OpenAiBaseUrl = SettingValue.OrNull(o.OpenAiBaseUrl);
        o.AzureEndpoint = SettingValue.OrNull(o.AzureEndpoint);
        o.AzureDeployment = SettingValue.OrNull(o.AzureDeployment);
        o.AzureApiKey = SettingValue.OrNull(o.AzureApiKey);
    }

    public ModelProvider Provider => string.IsNullOrWhiteSpace(AzureEndpoint) ? ModelProvider.OpenAi : ModelProvider.AzureOpenAi;

    public string ModelName => string.IsNullOrWhiteSpace(Model) ? DefaultModel : Model.Trim();

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    public TimeSpan StreamIdleTimeout => TimeSpan.FromSeconds(StreamIdleSeconds);
}

internal sealed class ModelOptionsValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions o)
    {
        var failures = new List<string>();
        bool hasAzureEndpoint = !string.IsNullOrWhiteSpace(o.AzureEndpoint);
        bool hasBaseUrl = !string.IsNullOrWhiteSpace(o.OpenAiBaseUrl);

        if (hasAzureEndpoint)
        {
            if (hasBaseUrl)
            {
                failures.Add($"{SettingNames.OpenAiBaseUrl} and {SettingNames.AzureOpenAiEndpoint} are both set; set only one (OPENAI_BASE_URL for OpenAI or an OpenAI-compatible server, AZURE_OPENAI_ENDPOINT for Azure OpenAI).");
            }
            if (!OptionsChecks.IsHttpUrl(o.AzureEndpoint))
            {
                failures.Add($"{SettingNames.AzureOpenAiEndpoint} must be an absolute http(s) URL, such as https://my-resource.openai.azure.com/.");
            }
            if (string.IsNullOrWhiteSpace(o.AzureDeployment))
            {
                failures.Add($"{SettingNames.AzureOpenAiDeployment} is not set; Azure OpenAI needs the name of the model deployment to call.");
            }
        }
        else
        {
            if (!string.IsNullOrWhiteSpace(o.AzureDeployment) || !string.IsNullOrWhiteSpace(o.AzureApiKey))
            {
                failures.Add($"{SettingNames.AzureOpenAiEndpoint} is not set, but {SettingNames.AzureOpenAiDeployment} or {SettingNames.AzureOpenAiApiKey} is; set the endpoint to use Azure OpenAI, or remove them.");
            }
            else if (!hasBaseUrl && string.IsNullOrWhiteSpace(o.OpenAiApiKey))
            {
                failures.Add($"No chat model is configured: set {SettingNames.OpenAiApiKey} (OpenAI), {SettingNames.OpenAiBaseUrl} (an OpenAI-compatible server), or {SettingNames.AzureOpenAiEndpoint} + {SettingNames.AzureOpenAiDeployment} (Azure OpenAI).");
            }
            if (hasBaseUrl && !OptionsChecks.IsHttpUrl(o.OpenAiBaseUrl))
            {
                failures.Add($"{SettingNames.OpenAiBaseUrl} must be an absolute http(s) URL, such as http://localhost:11434/v1.");
            }
        }

        if (o.TimeoutSeconds is < 1 or > 600)
        {
            failures.Add($"{SettingNames.OpenAiTimeoutSeconds} must be between 1 and 600 seconds.");
        }
        if (o.StreamIdleSeconds is < 1 or > 600)
        {
            failures.Add($"{SettingNames.ModelStreamIdleSeconds} must be between 1 and 600 seconds.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
