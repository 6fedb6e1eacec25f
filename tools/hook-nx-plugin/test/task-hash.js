// Prints the Nx task hash of <project>:<target> in the workspace it runs in (its cwd), as
// `nx run` would compute it before running: the tests compare hashes across commits. With a
// second argument, a JSON object of named environments, it prints a JSON object of their hashes
// (each environment is added to this process's), computing the graph once.
const from = (path) => require(require.resolve(path, { paths: [process.cwd()] }));
const [project, target] = process.argv[2].split(':');
const variants = process.argv[3] ? JSON.parse(process.argv[3]) : undefined;

(async () => {
  const { createProjectGraphAsync } = from('nx/src/devkit-exports');
  const { readNxJson } = from('nx/src/config/nx-json');
  const { createTaskGraph } = from('nx/src/tasks-runner/create-task-graph');
  const { createTaskHasher } = from('nx/src/hasher/create-task-hasher');
  const graph = await createProjectGraphAsync({ exitOnError: true });
  const taskGraph = createTaskGraph(graph, {}, [project], [target], undefined, {});
  const task = taskGraph.tasks[`${project}:${target}`];
  if (!task) throw new Error(`no task ${project}:${target}`);
  if (!variants) {
    const hash = await createTaskHasher(graph, readNxJson(), {}).hashTask(task, taskGraph, process.env);
    process.stdout.write(`${hash.value}\n`);
    return;
  }
  const hashes = {};
  for (const [name, extra] of Object.entries(variants)) {
    // A fresh hasher per environment: a hasher keeps what it computed.
    hashes[name] = (await createTaskHasher(graph, readNxJson(), {}).hashTask(task, taskGraph, { ...process.env, ...extra })).value;
  }
  process.stdout.write(`${JSON.stringify(hashes)}\n`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
