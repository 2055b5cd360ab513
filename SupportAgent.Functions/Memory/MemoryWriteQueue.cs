using System.Diagnostics;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// The memory-writes queue and its payload container: puts exchanges on the queue for the writer function, and
/// keeps exchanges too large for a queue message in a blob (claim check) so that no accepted input is ever cut.
/// </summary>
public sealed class MemoryWriteQueue
{
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly BlobContainerClient _payloads;
    private readonly string _storageSetting;
    private readonly StorageResource _queueResource;
    private readonly StorageResource _containerResource;

    public MemoryWriteQueue(StorageClients storage, IOptions<MemoryOptions> options)
        : this(storage.CreateQueueServiceClient(), storage.CreateBlobServiceClient(), options, storage.SettingName)
    {
    }

    /// <summary>Over given service clients: the chat path's warm-up uses clients whose transport answers from memory.</summary>
    internal MemoryWriteQueue(QueueServiceClient queues, BlobServiceClient blobs, IOptions<MemoryOptions> options, string storageSetting)
    {
        _queue = queues.GetQueueClient(options.Value.QueueName);
        _poison = queues.GetQueueClient(options.Value.PoisonQueueName);
        _payloads = blobs.GetBlobContainerClient(options.Value.PayloadContainerName);
        _storageSetting = storageSetting;
        _queueResource = new StorageResource(ct => _queue.CreateIfNotExistsAsync(cancellationToken: ct));
        _containerResource = new StorageResource(ct => _payloads.CreateIfNotExistsAsync(cancellationToken: ct));
    }

    public string QueueName => _queue.Name;

    /// <summary>Where the queue trigger moves a message whose last try failed.</summary>
    public string PoisonQueueName => _poison.Name;

    /// <summary>
    /// Creates the queue, its poison queue and the payload container if they are missing. Called at start-up, so the
    /// queue listener never polls a queue that does not exist (a 404 warning every few seconds) and a storage account
    /// that cannot be reached is reported before the first request, naming the setting to fix.
    /// </summary>
    /// <exception cref="StorageUnavailableException">The storage account cannot be reached or refuses the credentials.</exception>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(
                _queueResource.EnsureAsync(cancellationToken),
                _poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
                _containerResource.EnsureAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw StorageUnavailableException.From(ex, _queue.Uri, _storageSetting);
        }
    }

    /// <summary>
    /// Enqueues one exchange; returns the message as sent (inline, or pointing at its payload blob). The message carries
    /// the trace context of this send, so the writer's span continues the chat's trace.
    /// </summary>
    public async Task<MemoryWriteMessage> EnqueueAsync(MemoryWriteMessage message, CancellationToken cancellationToken)
    {
        using var activity = SupportAgentTelemetry.Source.StartActivity("send " + _queue.Name, ActivityKind.Producer);
        activity?.SetTag(SupportAgentTelemetry.MessagingSystem, SupportAgentTelemetry.StorageQueues);
        activity?.SetTag(SupportAgentTelemetry.MessagingDestination, _queue.Name);
        activity?.SetTag(SupportAgentTelemetry.MessagingOperationType, "send");
        activity?.SetTag(SupportAgentTelemetry.MessagingOperationName, "send");
        activity?.SetTag(SupportAgentTelemetry.ExchangeId, message.Id);
        // Without a listener there is no span of our own, but the caller's (the request's) context still travels.
        if ((activity ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C } context)
        {
            message = message with { TraceParent = context.Id, TraceState = context.TraceStateString };
        }
        try
        {
            message = await SendAsync(message, activity, cancellationToken);
        }
        catch (Exception ex)
        {
            activity.Fail(ex.GetType().Name);
            throw;
        }
        return message;
    }

    private async Task<MemoryWriteMessage> SendAsync(MemoryWriteMessage message, Activity? activity, CancellationToken cancellationToken)
    {
        byte[] json = message.ToUtf8Json();
        activity?.SetTag(SupportAgentTelemetry.ClaimCheck, json.Length > MemoryWriteMessage.MaxInlineJsonBytes);
        if (json.Length > MemoryWriteMessage.MaxInlineJsonBytes)
        {
            string blobName = $"{message.CreatedAt:yyyy/MM/dd}/{message.Id}.json";
            var payload = JsonSerializer.SerializeToUtf8Bytes(new MemoryWritePayload(message.Messages!), MemoryJsonContext.Default.MemoryWritePayload);
            await UploadPayloadAsync(blobName, payload, cancellationToken);
            message = message with { Messages = null, PayloadBlob = blobName };
            json = message.ToUtf8Json();
        }

        activity?.SetTag(SupportAgentTelemetry.MessagingBodySize, json.Length);
        // BinaryData + the client's Base64 encoding: exactly what the Functions queue trigger decodes.
        await WithQueueAsync(() => _queue.SendMessageAsync(new BinaryData(json), cancellationToken: cancellationToken));
        return message;
    }

    public async Task<IReadOnlyList<ChatTurn>> ReadPayloadAsync(string blobName, CancellationToken cancellationToken)
    {
        var content = await _payloads.GetBlobClient(blobName).DownloadContentAsync(cancellationToken);
        var payload = content.Value.Content.ToObjectFromJson(MemoryJsonContext.Default.MemoryWritePayload)
            ?? throw new InvalidDataException("The payload blob is empty.");
        return payload.Messages;
    }

    public Task DeletePayloadAsync(string blobName, CancellationToken cancellationToken) =>
        _payloads.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    private async Task UploadPayloadAsync(string blobName, byte[] payload, CancellationToken cancellationToken)
    {
        await _containerResource.RunAsync(
            () => _payloads.GetBlobClient(blobName).UploadAsync(new BinaryData(payload), overwrite: true, cancellationToken), cancellationToken);
    }

    /// <summary>Sends; a queue deleted since it was created (or never there) is created again, once, and the send repeated.</summary>
    private Task WithQueueAsync(Func<Task> send) => _queueResource.RunAsync(send, CancellationToken.None);
}
