using SupportAgent.Functions.Memory.BuiltIn;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>
/// An embedding model whose load the test holds: the load begins (<see cref="Started"/>) and then waits until
/// <see cref="Release"/>. A new instance whose model is still loading, for as long as the test needs, however fast or
/// busy the machine is.
/// </summary>
internal sealed class ModelLoadGate : IDisposable
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _release = new();

    public ModelLoadGate() => Model = new MiniLmEmbeddingGenerator(beforeLoad: () =>
    {
        _started.TrySetResult();
        _release.Wait();
    });

    public MiniLmEmbeddingGenerator Model { get; }

    /// <summary>Completes when something has started loading the model.</summary>
    public Task Started => _started.Task;

    public void Release() => _release.Set();

    public void Dispose()
    {
        _release.Set();
        Model.Dispose();
    }
}
