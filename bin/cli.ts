console.error('driftline: no commands yet');
process.exit(2);
