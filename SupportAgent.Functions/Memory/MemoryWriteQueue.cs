using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Conversation;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// The memory-writes queue and its payload container: puts exchanges on the queue for the writer function, and
/// keeps exchanges too large for a queue message in a blob (claim check) so that no accepted input is ever cut.
/// </summary>
public sealed class MemoryWriteQueue
{
    private readonly QueueClient _queue;
    private readonly BlobContainerClient _payloads;
    private volatile bool _queueExists;
    private volatile bool _containerExists;

    public MemoryWriteQueue(StorageClients storage, IOptions<MemoryOptions> options)
    {
        _queue = storage.CreateQueueServiceClient().GetQueueClient(options.Value.QueueName);
        _payloads = storage.CreateBlobServiceClient().GetBlobContainerClient(options.Value.PayloadContainerName);
    }

    public string QueueName => _queue.Name;

    /// <summary>Enqueues one exchange; returns the message as sent (inline, or pointing at its payload blob).</summary>
    public async Task<MemoryWriteMessage> EnqueueAsync(MemoryWriteMessage message, CancellationToken cancellationToken)
    {
        byte[] json = message.ToUtf8Json();
        if (json.Length > MemoryWriteMessage.MaxInlineJsonBytes)
        {
            string blobName = $"{message.CreatedAt:yyyy/MM/dd}/{message.Id}.json";
            var payload = JsonSerializer.SerializeToUtf8Bytes(new MemoryWritePayload(message.Messages!), MemoryJsonContext.Default.MemoryWritePayload);
            await UploadPayloadAsync(blobName, payload, cancellationToken);
            message = message with { Messages = null, PayloadBlob = blobName };
            json = message.ToUtf8Json();
        }

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
        if (!_containerExists)
        {
            await _payloads.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerExists = true;
        }
        await _payloads.GetBlobClient(blobName).UploadAsync(new BinaryData(payload), overwrite: true, cancellationToken);
    }

    private async Task WithQueueAsync(Func<Task> send)
    {
        if (!_queueExists)
        {
            await _queue.CreateIfNotExistsAsync();
            _queueExists = true;
        }
        try
        {
            await send();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Someone deleted the queue since we created it: create it again, once.
            await _queue.CreateIfNotExistsAsync();
            await send();
        }
    }
}
