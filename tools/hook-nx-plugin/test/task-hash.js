// Prints the Nx task hash of <project>:<target> in the workspace it runs in (its cwd), as
// `nx run` would compute it before running: the tests compare hashes across commits.
const from = (path) => require(require.resolve(path, { paths: [process.cwd()] }));
const [project, target] = process.argv[2].split(':');

(async () => {
  const { createProjectGraphAsync } = from('nx/src/devkit-exports');
  const { readNxJson } = from('nx/src/config/nx-json');
  const { createTaskGraph } = from('nx/src/tasks-runner/create-task-graph');
  const { createTaskHasher } = from('nx/src/hasher/create-task-hasher');
  const graph = await createProjectGraphAsync({ exitOnError: true });
  const taskGraph = createTaskGraph(graph, {}, [project], [target], undefined, {});
  const hasher = createTaskHasher(graph, readNxJson(), {});
  const hash = await hasher.hashTask(taskGraph.tasks[`${project}:${target}`], taskGraph, process.env);
  process.stdout.write(`${hash.value}\n`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
