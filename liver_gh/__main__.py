from liver_gh.cli import main

main(prog_name="liver")
