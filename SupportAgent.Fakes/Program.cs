using System.CommandLine;
using System.Runtime.InteropServices;
using SupportAgent.Fakes;

// Runs the fakes standalone, for a benchmark or a local demo of the app without real OpenAI / Mem0 accounts.
// System.CommandLine parses the arguments, prints --help and refuses a bad value with the option's name.

var command = FakesCommandLine.Create(RunAsync);
// The fakes stop themselves on SIGINT/SIGTERM (below), so System.CommandLine need not handle termination.
return await command.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

static async Task<int> RunAsync(FakesArguments cli)
{
    await using var openAi = new FakeOpenAiServer(new FakeOpenAiServerOptions
    {
        Port = cli.OpenAiPort,
        RequiredApiKey = cli.OpenAiKey,
        Latency = TimeSpan.FromMilliseconds(cli.ModelLatencyMs),
        StreamDuration = TimeSpan.FromMilliseconds(cli.ModelStreamMs),
    });
    await using var mem0 = cli.NoMem0 ? null : new FakeMem0Server(new FakeMem0ServerOptions
    {
        Flavor = cli.Mem0Flavor,
        Port = cli.Mem0Port,
        ApiKey = cli.Mem0Key,
        // The app sends one key; make it the admin key too so the app's delete-all works against the server flavour.
        AdminApiKey = cli.Mem0Flavor == Mem0Flavor.Server ? cli.Mem0AdminKey ?? cli.Mem0Key : null,
        SearchLatency = TimeSpan.FromMilliseconds(cli.SearchLatencyMs),
        AddLatency = TimeSpan.FromMilliseconds(cli.AddLatencyMs),
        ProcessingDelay = TimeSpan.FromMilliseconds(cli.ProcessingDelayMs),
        RecordCapacity = cli.NoRecord ? 0 : 100_000,
    });

    await using var sink = cli.OtlpPort is { } otlpPort ? new FakeTelemetrySink(otlpPort, recordCapacity: cli.NoRecord ? 0 : 10_000) : null;

    try
    {
        await openAi.StartAsync();
        if (sink is not null)
        {
            await sink.StartAsync();
        }
        if (mem0 is not null)
        {
            await mem0.StartAsync();
        }
    }
    catch (IOException ex)
    {
        Console.Error.WriteLine($"error: could not listen ({ex.Message}). Is the port in use? Pass --openai-port / --mem0-port (0 = any free port).");
        return 1;
    }

    string openAiKey = cli.OpenAiKey ?? "fake-openai-key";
    Console.WriteLine($"Fake OpenAI       {openAi.BaseUrl}  (POST /v1/chat/completions, POST /openai/deployments/{{deployment}}/chat/completions)");
    if (mem0 is not null)
    {
        Console.WriteLine($"Fake Mem0 ({(mem0.Flavor == Mem0Flavor.Platform ? "platform" : "server")}) {mem0.BaseUrl}");
    }
    if (sink is not null)
    {
        Console.WriteLine($"Telemetry sink      {sink.BaseUrl}  (OTLP/http: POST /v1/traces|metrics|logs; Azure Monitor: POST /v2.1/track; GET /_fake/stats)");
    }
    Console.WriteLine();
    Console.WriteLine("Point the app at them with these settings (environment variables or local.settings.json \"Values\"):");
    Console.WriteLine($"OPENAI_BASE_URL={openAi.OpenAiBaseUrl}");
    Console.WriteLine($"OPENAI_API_KEY={openAiKey}");
    if (mem0 is not null)
    {
        Console.WriteLine($"MEM0_API={(mem0.Flavor == Mem0Flavor.Platform ? "platform" : "server")}");
        Console.WriteLine($"MEM0_BASE_URL={mem0.BaseUrl}");
        Console.WriteLine($"MEM0_API_KEY={cli.Mem0Key}");
    }
    Console.WriteLine();
    Console.WriteLine($"# or, for the Azure OpenAI route instead of OPENAI_BASE_URL/OPENAI_API_KEY:");
    Console.WriteLine($"# AZURE_OPENAI_ENDPOINT={openAi.AzureEndpoint}");
    Console.WriteLine($"# AZURE_OPENAI_DEPLOYMENT=gpt-4o-mini");
    Console.WriteLine($"# AZURE_OPENAI_API_KEY={openAiKey}");
    Console.WriteLine($"# Control: GET /_fake/stats, POST /_fake/config, POST /_fake/reset on either server.");
    Console.WriteLine("Running; press Ctrl-C (or send SIGTERM) to stop.");

    var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    await stop.Task;

    Console.WriteLine("Stopping.");
    await openAi.StopAsync();
    if (mem0 is not null)
    {
        await mem0.StopAsync();
    }
    return 0;

    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // we shut down ourselves, cleanly
        stop.TrySetResult();
    }
}
