using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SupportAgent.Fakes;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>
/// The app's IChatClient pipeline (Microsoft.Extensions.AI over OpenAI / Azure.AI.OpenAI), built by ModelPipeline.Create
/// exactly as the app builds it, against the fake model: proves the package pair works at run time on both routes.
/// </summary>
public sealed class ModelPipelineTests : IAsyncLifetime
{
    private FakeOpenAiServer _fake = null!;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public async Task InitializeAsync() => _fake = await FakeOpenAiServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _fake.DisposeAsync();
    }

    private static readonly List<ChatMessage> Messages = ChatService.ModelMessages("Be helpful.",
        [new ChatTurn(ChatTurn.User, "Hi, my order #1234 hasn't arrived."), new ChatTurn(ChatTurn.Assistant, "Sorry!"), new ChatTurn(ChatTurn.User, "Any updates?")]);

    private ModelOptions Options(bool azure) => azure
        ? new ModelOptions { AzureEndpoint = _fake.AzureEndpoint, AzureDeployment = "support-gpt", AzureApiKey = "azure-key", TimeoutSeconds = 30 }
        : new ModelOptions { OpenAiBaseUrl = _fake.OpenAiBaseUrl, OpenAiApiKey = "sk-test", TimeoutSeconds = 30 };

    private IChatClient Model(bool azure = false, ILoggerFactory? logs = null) =>
        ModelPipeline.Create(Options(azure), _http, logs ?? NullLoggerFactory.Instance);

    private static async Task<string> StreamAsync(IChatClient model, List<string>? pieces = null)
    {
        var text = new StringBuilder();
        await foreach (var update in model.GetStreamingResponseAsync(Messages))
        {
            if (!string.IsNullOrEmpty(update.Text))
            {
                pieces?.Add(update.Text);
                text.Append(update.Text);
            }
        }
        return text.ToString();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task The_package_pair_works_at_run_time_on_both_routes_whole_and_streamed(bool azure, bool stream)
    {
        _fake.Responder = _ => "Your order #1234 left the warehouse yesterday and arrives Friday.";
        var pieces = new List<string>();

        string reply = stream ? await StreamAsync(Model(azure), pieces) : (await Model(azure).GetResponseAsync(Messages)).Text;

        Assert.Equal("Your order #1234 left the warehouse yesterday and arrives Friday.", reply);
        var request = Assert.Single(_fake.Requests.ToList());
        Assert.Equal(stream, request.Stream);
        Assert.Equal(["system", "user", "assistant", "user"], request.Messages.Select(m => m.Role));
        Assert.Equal("Be helpful.", request.SystemPrompt);
        if (stream)
        {
            Assert.True(pieces.Count > 1, "the reply arrived in one piece, not streamed");
        }
        if (azure)
        {
            Assert.Equal(ChatRoute.Azure, request.Route);
            Assert.Equal("support-gpt", request.Deployment);
            Assert.Equal("azure-key", request.ApiKey);
            Assert.False(string.IsNullOrWhiteSpace(request.ApiVersion));
        }
        else
        {
            Assert.Equal(ChatRoute.OpenAi, request.Route);
            Assert.Equal("/v1/chat/completions", request.Path);
            Assert.Equal("Bearer sk-test", request.Authorization);
            Assert.Equal("gpt-4o-mini", request.Model);
        }
    }

    // Through the adapter, Azure.AI.OpenAI 2.1.0 next to OpenAI 2.15 passes the test above (the adapter sends through the
    // protocol method), but its own typed methods throw MissingMethodException (ChatCompletionOptions.SerializedAdditionalRawData):
    // this test fails on that pair, so a downgrade cannot slip through.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Azure_OpenAIs_typed_client_works_next_to_the_OpenAI_version_the_adapter_needs(bool stream)
    {
        var client = new Azure.AI.OpenAI.AzureOpenAIClient(new Uri(_fake.AzureEndpoint), new System.ClientModel.ApiKeyCredential("azure-key"))
            .GetChatClient("support-gpt");
        OpenAI.Chat.ChatMessage[] messages = [new OpenAI.Chat.UserChatMessage("Any updates?")];
        var options = new OpenAI.Chat.ChatCompletionOptions { MaxOutputTokenCount = 100 };
        var text = new StringBuilder();

        if (stream)
        {
            await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
            {
                text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            }
        }
        else
        {
            text.Append((await client.CompleteChatAsync(messages, options)).Value.Content[0].Text);
        }

        Assert.EndsWith("You said: \"Any updates?\"", text.ToString());
        Assert.Equal("support-gpt", Assert.Single(_fake.Requests.ToList()).Deployment);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_rate_limited_stream_fails_before_its_first_update_as_unavailable_with_retry_after(bool azure)
    {
        _fake.Faults.FailAlways(FakeFault.TooManyRequests(TimeSpan.FromSeconds(42)));

        var ex = await Assert.ThrowsAsync<ModelException>(() => StreamAsync(Model(azure)));

        Assert.Equal(ModelFailure.Unavailable, ex.Failure);
        Assert.Equal(429, ex.ProviderStatus);
        Assert.Equal(TimeSpan.FromSeconds(42), ex.RetryAfter);
        Assert.Equal(1, _fake.RequestCount); // longer than the app waits: not retried
    }

    [Fact]
    public async Task An_unreachable_model_is_unavailable_whole_and_streamed()
    {
        var model = Model();
        await _fake.StopAsync();

        var whole = await Assert.ThrowsAsync<ModelException>(() => model.GetResponseAsync(Messages));
        var streamed = await Assert.ThrowsAsync<ModelException>(() => StreamAsync(model));

        Assert.Equal(ModelFailure.Unavailable, whole.Failure);
        Assert.Equal(ModelFailure.Unavailable, streamed.Failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reply_without_text_is_a_bad_gateway(bool stream)
    {
        _fake.Responder = _ => "";

        var ex = await Assert.ThrowsAsync<ModelException>(() => stream ? StreamAsync(Model()) : Model().GetResponseAsync(Messages));

        Assert.Equal(ModelFailure.BadGateway, ex.Failure);
        Assert.Equal(200, ex.ProviderStatus);
    }

    [Fact]
    public async Task The_callers_cancellation_passes_through_unclassified()
    {
        _fake.Latency = TimeSpan.FromSeconds(30);
        using var cancel = new CancellationTokenSource();
        await using var updates = Model().GetStreamingResponseAsync(Messages, cancellationToken: cancel.Token).GetAsyncEnumerator();
        var first = updates.MoveNextAsync().AsTask();
        await _fake.WaitForRequestsAsync(1, TimeSpan.FromSeconds(10));

        await cancel.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => first);
        Assert.IsAssignableFrom<OperationCanceledException>(ex);
    }

    [Fact]
    public async Task Model_calls_log_debug_lines_but_never_content_or_provider_text_even_at_trace()
    {
        var capture = new LogCapture();
        using var logs = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(capture));
        _fake.Responder = _ => "Secret reply about card 4242";

        await Model(logs: logs).GetResponseAsync(Messages);
        await StreamAsync(Model(logs: logs));
        _fake.Faults.FailAlways(FakeFault.WithStatus(400, """{"error":{"message":"You said: Any updates? order #1234","type":"invalid_request_error"}}"""));
        await Assert.ThrowsAsync<ModelException>(() => Model(logs: logs).GetResponseAsync(Messages));

        var lines = capture.Lines;
        Assert.Contains(lines, l => l.Contains("GetResponseAsync invoked"));
        Assert.Contains(lines, l => l.Contains("GetStreamingResponseAsync completed"));
        foreach (var content in new[] { "4242", "#1234", "Any updates", "Be helpful" })
        {
            Assert.DoesNotContain(lines, l => l.Contains(content, StringComparison.Ordinal));
        }
    }
}
