using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Storage;

/// <summary>
/// The storage account behind <c>AzureWebJobsStorage</c>, in either form the Functions runtime accepts:
/// a connection string, or an identity-based connection (<c>AzureWebJobsStorage__accountName</c> or
/// <c>__queueServiceUri</c>/<c>__blobServiceUri</c>, optionally <c>__clientId</c> for a user-assigned identity).
/// Reading the same settings as the runtime means the app's own queue client and the trigger always agree.
/// </summary>
public sealed class StorageOptions
{
    public string? ConnectionString { get; set; }
    public string? AccountName { get; set; }
    public string? QueueServiceUri { get; set; }
    public string? BlobServiceUri { get; set; }
    public string? TableServiceUri { get; set; }
    public string? Credential { get; set; }
    public string? ClientId { get; set; }

    public bool UsesConnectionString => !string.IsNullOrWhiteSpace(ConnectionString);

    public static void Bind(StorageOptions o, IConfiguration configuration)
    {
        var section = configuration.GetSection(SettingNames.Storage);
        o.ConnectionString = section.Value;
        o.AccountName = section["accountName"];
        o.QueueServiceUri = section["queueServiceUri"];
        o.BlobServiceUri = section["blobServiceUri"];
        o.TableServiceUri = section["tableServiceUri"];
        o.Credential = section["credential"];
        o.ClientId = section["clientId"];
    }

    public Uri? QueueEndpoint => EndpointFor(QueueServiceUri, "queue");

    public Uri? BlobEndpoint => EndpointFor(BlobServiceUri, "blob");

    public Uri? TableEndpoint => EndpointFor(TableServiceUri, "table");

    private Uri? EndpointFor(string? explicitUri, string service)
    {
        if (!string.IsNullOrWhiteSpace(explicitUri))
        {
            return new Uri(explicitUri.Trim(), UriKind.Absolute);
        }
        return string.IsNullOrWhiteSpace(AccountName) ? null : new Uri($"https://{AccountName.Trim()}.{service}.core.windows.net/");
    }
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    /// <summary>Parsed the way the queue trigger and the app's clients parse it; the value itself is never echoed (it holds a key).</summary>
    private static bool IsConnectionString(string value)
    {
        try
        {
            _ = new Azure.Storage.Queues.QueueServiceClient(value);
            _ = new Azure.Storage.Blobs.BlobServiceClient(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or UriFormatException)
        {
            return false;
        }
    }

    public ValidateOptionsResult Validate(string? name, StorageOptions o)
    {
        if (o.UsesConnectionString)
        {
            return IsConnectionString(o.ConnectionString!)
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(
                    $"{SettingNames.Storage} is not a storage connection string. Use UseDevelopmentStorage=true for Azurite, or the account's " +
                    "connection string (DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net).");
        }
        if (string.IsNullOrWhiteSpace(o.AccountName) && string.IsNullOrWhiteSpace(o.QueueServiceUri))
        {
            return ValidateOptionsResult.Fail(
                $"{SettingNames.Storage} is not set: set it to a storage connection string (UseDevelopmentStorage=true for Azurite), " +
                $"or set {SettingNames.StorageAccountName} (or {SettingNames.StorageQueueServiceUri} and {SettingNames.StorageBlobServiceUri}) for an identity-based connection.");
        }
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(o.QueueServiceUri) && !OptionsChecks.IsHttpUrl(o.QueueServiceUri))
        {
            failures.Add($"{SettingNames.StorageQueueServiceUri} must be an absolute URL such as https://myaccount.queue.core.windows.net.");
        }
        if (!string.IsNullOrWhiteSpace(o.BlobServiceUri) && !OptionsChecks.IsHttpUrl(o.BlobServiceUri))
        {
            failures.Add($"{SettingNames.StorageBlobServiceUri} must be an absolute URL such as https://myaccount.blob.core.windows.net.");
        }
        if (string.IsNullOrWhiteSpace(o.AccountName) && string.IsNullOrWhiteSpace(o.TableServiceUri))
        {
            failures.Add($"{SettingNames.StorageTableServiceUri} is not set; with {SettingNames.StorageQueueServiceUri} the app also needs the table endpoint, where it records erasures (\"forget me\") (or set {SettingNames.StorageAccountName} instead).");
        }
        if (!string.IsNullOrWhiteSpace(o.TableServiceUri) && !OptionsChecks.IsHttpUrl(o.TableServiceUri))
        {
            failures.Add($"{SettingNames.StorageTableServiceUri} must be an absolute URL such as https://myaccount.table.core.windows.net.");
        }
        if (string.IsNullOrWhiteSpace(o.AccountName) && string.IsNullOrWhiteSpace(o.BlobServiceUri))
        {
            failures.Add($"{SettingNames.StorageBlobServiceUri} is not set; with {SettingNames.StorageQueueServiceUri} the app also needs the blob endpoint for exchanges too large for one queue message (or set {SettingNames.StorageAccountName} instead).");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
