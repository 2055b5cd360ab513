using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace SupportAgent.Functions.Storage;

/// <summary>Azure SDK clients for the app's storage account, built from <see cref="StorageOptions"/>.</summary>
public sealed class StorageClients(IOptions<StorageOptions> options, StorageReachability? reachability = null)
{
    /// <summary>The policy every client here carries (the self host adds it to the queue listener's clients too).</summary>
    public StorageReachability? Reachability => reachability;

    private readonly Lazy<TokenCredential> _credential = new(() => new DefaultAzureCredential(new DefaultAzureCredentialOptions
    {
        // A user-assigned identity is named by client id, exactly as the Functions runtime reads AzureWebJobsStorage__clientId.
        ManagedIdentityClientId = string.IsNullOrWhiteSpace(options.Value.ClientId) ? null : options.Value.ClientId,
    }));

    /// <summary>The setting the account comes from, for messages that tell the user what to fix.</summary>
    public string SettingName => options.Value.UsesConnectionString ? Configuration.SettingNames.Storage
        : string.IsNullOrWhiteSpace(options.Value.AccountName) ? Configuration.SettingNames.StorageQueueServiceUri
        : Configuration.SettingNames.StorageAccountName;

    /// <summary>The account's queue, blob and table endpoints (table: null when the identity-based settings give none).</summary>
    public (Uri Queue, Uri Blob, Uri? Table) Endpoints()
    {
        var o = options.Value;
        var table = o.UsesConnectionString ? CreateTableServiceClient().Uri : o.TableEndpoint;
        return (CreateQueueServiceClient().Uri, CreateBlobServiceClient().Uri, table);
    }

    public QueueServiceClient CreateQueueServiceClient()
    {
        var o = options.Value;
        var clientOptions = new QueueClientOptions(QueueServiceVersion)
        {
            // The Functions queue trigger expects Base64 (host.json messageEncoding), and the SDK default is none.
            MessageEncoding = QueueMessageEncoding.Base64,
        };
        ConfigureRetry(clientOptions);
        return o.UsesConnectionString
            ? new QueueServiceClient(o.ConnectionString, clientOptions)
            : new QueueServiceClient(o.QueueEndpoint, _credential.Value, clientOptions);
    }

    public BlobServiceClient CreateBlobServiceClient()
    {
        var o = options.Value;
        var clientOptions = new BlobClientOptions(BlobServiceVersion);
        ConfigureRetry(clientOptions);
        return o.UsesConnectionString
            ? new BlobServiceClient(o.ConnectionString, clientOptions)
            : new BlobServiceClient(o.BlobEndpoint, _credential.Value, clientOptions);
    }

    /// <summary>Tables: the erasure records ("forget me") and the built-in memory store.</summary>
    public TableServiceClient CreateTableServiceClient()
    {
        var o = options.Value;
        var clientOptions = new TableClientOptions(TableClientOptions.ServiceVersion.V2019_02_02);
        ConfigureRetry(clientOptions);
        if (o.UsesConnectionString)
        {
            return new TableServiceClient(o.ConnectionString, clientOptions);
        }
        var endpoint = o.TableEndpoint ?? throw new InvalidOperationException(
            $"{Configuration.SettingNames.StorageTableServiceUri} (or {Configuration.SettingNames.StorageAccountName}) is needed: erasure records and the built-in memory store live in tables.");
        return new TableServiceClient(endpoint, _credential.Value, clientOptions);
    }

    /// <summary>
    /// The chat reply waits for the enqueue, so storage trouble must fail fast (a few quick retries, about half a
    /// second when storage refuses connections) instead of the SDK default of several seconds of backoff.
    /// </summary>
    private void ConfigureRetry(ClientOptions options)
    {
        if (reachability is not null)
        {
            options.AddPolicy(reachability, HttpPipelinePosition.PerCall); // per call: it sees what is left after the retries
        }
        options.Retry.MaxRetries = 2;
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
    }

    // Pinned so the same build talks to Azure and to Azurite releases that do not yet know the SDK's newest version.
    private const QueueClientOptions.ServiceVersion QueueServiceVersion = QueueClientOptions.ServiceVersion.V2025_01_05;
    private const BlobClientOptions.ServiceVersion BlobServiceVersion = BlobClientOptions.ServiceVersion.V2025_01_05;
}
